import Crypto
import Foundation
import Hummingbird
import Testing
import TetherAPI
import TetherTestSupport

@testable import TetherCoordinator
@testable import TetherEngine

@Suite("GET /: the dashboard page")
struct DashboardTests {
    /// The text between each `<tag>` and `</tag>` of the page.
    static func blocks(_ tag: String, in html: String) -> [String] {
        var found: [String] = []
        var rest = html[...]
        while let open = rest.range(of: "<\(tag)>"),
            let close = rest.range(of: "</\(tag)>", range: open.upperBound..<rest.endIndex)
        {
            found.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return found
    }

    static func hash(_ text: String) -> String {
        "'sha256-" + Data(SHA256.hash(data: Data(text.utf8))).base64EncodedString() + "'"
    }

    /// The directives of a Content-Security-Policy by name.
    static func directives(_ policy: String) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for part in policy.split(separator: ";") {
            let words = part.split(separator: " ").map(String.init)
            if let name = words.first { result[name] = Array(words.dropFirst()) }
        }
        return result
    }

    @Test("served as HTML with a Content-Security-Policy and no caching or sniffing")
    func headers() {
        let response = Dashboard.response()
        #expect(response.status == .ok)
        #expect(response.headers[.contentType] == "text/html; charset=utf-8")
        #expect(response.headers[.contentSecurityPolicy] == Dashboard.contentSecurityPolicy)
        #expect(response.headers[.xContentTypeOptions] == "nosniff")
        let policy = Self.directives(Dashboard.contentSecurityPolicy)
        #expect(policy["default-src"] == ["'none'"])
        #expect(policy["connect-src"] == ["'self'"])
        #expect(policy["frame-ancestors"] == ["'none'"])
        #expect(!Dashboard.contentSecurityPolicy.contains("unsafe"), "no 'unsafe-inline' or 'unsafe-eval'")
    }

    @Test("the CSP allows exactly the page's one inline script and one inline style, by hash")
    func hashesMatch() {
        let scripts = Self.blocks("script", in: Dashboard.html)
        let styles = Self.blocks("style", in: Dashboard.html)
        #expect(scripts.count == 1)
        #expect(styles.count == 1)
        let policy = Self.directives(Dashboard.contentSecurityPolicy)
        #expect(policy["script-src"] == scripts.map(Self.hash))
        #expect(policy["style-src"] == styles.map(Self.hash))
        #expect(scripts.first == Dashboard.script, "the hashed script is the embedded one")
        #expect(!Dashboard.html.contains("<script src"), "no script from a URL")
    }

    @Test("no external assets: no http(s) URLs, no imports, links only within the page")
    func noExternalURLs() throws {
        let html = Dashboard.html
        #expect(!html.contains("http://"))
        #expect(!html.contains("https://"))
        #expect(!html.contains("@import"))
        #expect(!html.contains("//cdn"))
        let references = try NSRegularExpression(pattern: #"(?:src|href|action)\s*=\s*["']?([^"'\s>]*)"#)
        let text = html as NSString
        for match in references.matches(in: html, range: NSRange(location: 0, length: text.length)) {
            let target = text.substring(with: match.range(at: 1))
            #expect(
                target.hasPrefix("#") || target.hasPrefix("data:") || target.hasPrefix("${"),
                "\(target) leaves the page")
        }
        let urls = try NSRegularExpression(pattern: #"url\(([^)]*)\)"#)
        for match in urls.matches(in: html, range: NSRange(location: 0, length: text.length)) {
            #expect(
                text.substring(with: match.range(at: 1)).hasPrefix("#"), "CSS url() only to an SVG pattern in the page")
        }
    }

    @Test(
        "nothing the CSP would block or that would run strings as code: no inline handlers or style attributes, no eval"
    )
    func nothingBlocked() throws {
        let markup = Dashboard.markup(style: "", script: "")
        let handlers = try NSRegularExpression(pattern: #"\son[a-z]+\s*="#)
        #expect(
            handlers.firstMatch(in: markup, range: NSRange(location: 0, length: (markup as NSString).length)) == nil)
        #expect(
            !Dashboard.html.contains("style=\""), "style attributes need 'unsafe-inline'; use classes or SVG attributes"
        )
        for forbidden in ["eval(", "new Function", "document.write", "outerHTML", "insertAdjacentHTML", "</script"] {
            #expect(!Dashboard.script.contains(forbidden), "the script uses \(forbidden)")
        }
        #expect(!Dashboard.script.contains("localStorage"), "the API key stays in sessionStorage")
        #expect(Dashboard.script.contains("sessionStorage"))
        #expect(Dashboard.script.contains("'Bearer '"))
    }

    @Test("every part of the page stays under 400 lines")
    func fileSizes() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../Sources/TetherCoordinator/HTTP/Dashboard/Resources").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
            $0.hasSuffix(".js") || $0.hasSuffix(".css") || $0.hasSuffix(".html")
        }
        #expect(files.count == 7)
        for file in files {
            let text = try String(contentsOfFile: directory.appendingPathComponent(file).path, encoding: .utf8)
            #expect(text.split(separator: "\n", omittingEmptySubsequences: false).count <= 400, "\(file)")
        }
    }

    /// The keys of a rendered object (or of every object in a rendered array).
    static func keys(_ values: JSONValue...) -> Set<String> {
        var keys: Set<String> = []
        for value in values {
            if let object = value.objectValue { keys.formUnion(object.keys) }
            for element in value.arrayValue ?? [] {
                if let object = element.objectValue { keys.formUnion(object.keys) }
            }
        }
        return keys
    }

    @Test("the fields the script reads from runs, steps, errors, events and triggers exist in the rendered documents")
    func runFieldsExist() {
        let references = DashboardFields.references(in: Dashboard.script)
        let now: Int64 = 1_795_435_976_579
        let steps = [
            StepRecord(
                id: "a", status: .completed, attempts: 1, output: Array("1".utf8), worker: "w",
                startedAtMilliseconds: now, endedAtMilliseconds: now + 5),
            StepRecord(
                id: "b", status: .retrying, attempts: 2, error: RunError(code: "step_failed", message: "x", type: "E"),
                worker: "w", startedAtMilliseconds: now, endedAtMilliseconds: now + 1),
            StepRecord(
                id: "nap", status: .sleeping, attempts: 0, startedAtMilliseconds: now, kind: .sleep,
                dueAtMilliseconds: now + 1_000),
            StepRecord(
                id: "approval", status: .waiting, attempts: 0, startedAtMilliseconds: now, kind: .waitForEvent,
                dueAtMilliseconds: now + 1_000, waitEvent: "x/approved", waitMatch: "async.data.id == event.data.id"),
            StepRecord(
                id: "quote", status: .invoking, attempts: 0, startedAtMilliseconds: now, kind: .invoke,
                childRunId: "child"),
            StepRecord(
                id: "announce", status: .completed, attempts: 0, output: Array("[]".utf8),
                startedAtMilliseconds: now, endedAtMilliseconds: now, kind: .sendEvent),
        ]
        let run = RunRecord(
            id: "r", functionId: "shop:f", app: "shop", functionSlug: "f", status: .failed,
            events: [EventRecord(id: "e", name: "x/y", data: Array("{}".utf8), timestampMilliseconds: now)],
            error: RunError(code: "step_failed", message: "m", type: "E"), createdAtMilliseconds: now,
            startedAtMilliseconds: now, endedAtMilliseconds: now + 9, maxAttempts: 4, steps: steps,
            parentRunId: "parent", parentStepId: "quote")
        func json(_ value: some Encodable) -> JSONValue {
            try! JSONValue(parsing: Array(APIEncoding.encoder().encode(value)))
        }
        let detail = json(APIRendering.run(run))
        let rendered: [String: Set<String>] = [
            "rn": Self.keys(detail, json(APIRendering.runSummary(run))),
            "sp": Self.keys(detail["steps"] ?? .null),
            "wf": Self.keys(json(APIRendering.step(steps[3]))["waitFor"] ?? .null),
            "pa": Self.keys(detail["parent"] ?? .null),
            "er": Self.keys(json(APIRendering.error(run.error))),
            "ev": Self.keys(detail["event"] ?? .null),
            "tg": Self.keys(
                json(APIRendering.trigger(.event(name: "x/y", expression: nil))),
                json(APIRendering.trigger(.cron(schedule: "0 3 * * *", timeZone: "")))),
        ]
        for (name, available) in rendered {
            #expect(
                references[name]?.isEmpty == false,
                "the script reads nothing through \(name): the check would pass vacuously")
            #expect(
                DashboardFields.unknown(references, name, available: available).isEmpty,
                "\(name): \(DashboardFields.documents[name] ?? "")")
        }
    }

    @Test("the field scanner finds fields, so a misspelt one would fail")
    func scannerWorks() {
        let references = DashboardFields.references(
            in: "x = wk.inFlight + rn?.status; y = awk.nope; z = a.sp.nope; q = sp.heartbeat")
        #expect(references["wk"] == ["inFlight"])
        #expect(references["rn"] == ["status"])
        #expect(references["sp"] == ["heartbeat"])
        #expect(DashboardFields.unknown(references, "sp", available: ["id", "status"]) == ["heartbeat"])
    }
}
