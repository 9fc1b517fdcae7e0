import Configuration
import Synchronization

/// `tether serve`'s JSON file as swift-configuration reads it: ``JSONSnapshot`` (one parse), plus
/// the dotted name of every key the file holds, so that a key nothing reads (a typo) is refused by
/// name instead of silently ignored.
struct ServeFileSnapshot: FileConfigSnapshot {
    typealias ParsingOptions = JSONSnapshot.ParsingOptions

    private let json: JSONSnapshot
    /// Every key with a value in the file, nested ones dotted (`tls.certificate`); `null` counts as absent.
    let keys: Set<String>

    init(data: RawSpan, providerName: String, parsingOptions: ParsingOptions) throws {
        // JSONSnapshot asks its secrets specifier about every key it flattens: the one place that
        // sees them all. Signing and API keys, and the journal URL (it may hold a password), are secrets, so access logs redact them.
        let seen = KeyRecorder()
        var options = parsingOptions
        options.secretsSpecifier = .dynamic { key, _ in
            seen.record(key)
            return key == "signingKeys" || key == "apiKeys" || key == "journal"
        }
        do {
            json = try JSONSnapshot(data: data, providerName: providerName, parsingOptions: options)
        } catch {
            throw ParseError(underlying: error)
        }
        keys = seen.keys
    }

    /// The file was read but is not JSON of the shape swift-configuration takes (an object at
    /// the top, arrays of one type); apart from read errors so the message can say which.
    struct ParseError: Error {
        let underlying: any Error
    }

    var providerName: String { json.providerName }

    func value(forKey key: AbsoluteConfigKey, type: ConfigType) throws -> LookupResult {
        try json.value(forKey: key, type: type)
    }

    var description: String { json.description }
    var debugDescription: String { json.debugDescription }
}

/// The keys a ``JSONSnapshot`` reports while it parses (its specifier must be `Sendable`).
private final class KeyRecorder: Sendable {
    private let seen = Mutex<Set<String>>([])

    func record(_ key: String) { seen.withLock { _ = $0.insert(key) } }

    var keys: Set<String> { seen.withLock { $0 } }
}
