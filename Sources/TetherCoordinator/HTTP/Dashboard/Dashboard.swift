import Crypto
import Foundation
import Hummingbird
import NIOCore

/// The operator dashboard at `GET /`: one self-contained HTML page (no CDN, no build step).
///
/// It reads only the public API: the status stream `GET /v1/status/stream` (read with `fetch()`
/// so it can send an API key, polling `GET /v1/status` when streaming fails), `/v1/workers` for
/// the capacity history, `/v1/functions`, `/v1/runs` and `/v1/runs/{id}`. The page is assembled
/// from `Dashboard+Markup.swift`, `Dashboard+Style.swift` and the `Dashboard+Script*.swift`
/// parts; the Content-Security-Policy allows exactly its one inline style and one inline script
/// by their SHA-256 hashes, and nothing from another origin.
enum Dashboard {
    static func response() -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8",
                .contentSecurityPolicy: contentSecurityPolicy,
                .cacheControl: "no-cache",
                .xContentTypeOptions: "nosniff",
                .init("Referrer-Policy")!: "no-referrer",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// The page's one script: its parts in order.
    static let script = [scriptCore, scriptCharts, scriptWorkers, scriptRuns, scriptMain].joined(separator: "\n")

    /// The whole page.
    static let html = markup(style: style, script: script)

    /// Only the embedded style and script (by hash) and requests to this origin.
    static let contentSecurityPolicy = [
        "default-src 'none'",
        "script-src '\(sha256(script))'",
        "style-src '\(sha256(style))'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ].joined(separator: "; ")

    /// A CSP source expression for `text`: `sha256-<base64 of its SHA-256>`.
    static func sha256(_ text: String) -> String {
        "sha256-" + Data(SHA256.hash(data: Data(text.utf8))).base64EncodedString()
    }
}
