import Crypto
import Foundation
import Hummingbird
import NIOCore

/// The operator dashboard at `GET /`: one self-contained HTML page (no CDN, no build step).
///
/// It reads only the public API: the status stream `GET /v1/status/stream` (read with `fetch()`
/// so it can send an API key, polling `GET /v1/status` when streaming fails), `/v1/workers` for
/// the capacity history, `/v1/functions`, `/v1/runs`, `/v1/runs/{id}` and `/v1/cluster` (the
/// node's role, polled every 2 s).
///
/// The page is real files in `Resources/`, embedded in the binary (SwiftPM `embedInCode`):
/// `index.html` with `{{style}}` and `{{script}}` where `dashboard.css` and the scripts
/// (`core.js`, `charts.js`, `workers.js`, `runs.js`, `cluster.js`, `main.js`, in that order) go. The
/// Content-Security-Policy allows exactly that one inline style and one inline script, by the
/// SHA-256 hashes computed from them when the page is first built, and nothing from another origin.
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

    /// A resource file as text, without the file's final newline.
    static func file(_ bytes: [UInt8]) -> String {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    /// The page's one style sheet.
    static let style = file(PackageResources.dashboard_css)

    /// The page's one script: its files in order.
    static let script = [
        PackageResources.core_js, PackageResources.charts_js, PackageResources.workers_js, PackageResources.runs_js,
        PackageResources.cluster_js, PackageResources.main_js,
    ].map(file).joined(separator: "\n")

    /// The page skeleton (`index.html`); the script fills it in.
    static let template = String(decoding: PackageResources.index_html, as: UTF8.self)

    /// The skeleton with a style and a script in place.
    static func markup(style: String, script: String) -> String {
        template.replacingOccurrences(of: "{{style}}", with: style).replacingOccurrences(of: "{{script}}", with: script)
    }

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
