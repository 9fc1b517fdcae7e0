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
        #expect(files.count == 8)
        for file in files {
            let text = try String(contentsOfFile: directory.appendingPathComponent(file).path, encoding: .utf8)
            #expect(text.split(separator: "\n", omittingEmptySubsequences: false).count <= 400, "\(file)")
        }
    }
}
