import TokenLedger
import ReadModelSupport

/// `eventlog.url`, parsed once: which log to open.
public enum EventLogURL: Sendable, Equatable, CustomStringConvertible {
    /// `postgres://…` or `postgresql://…`, kept whole for the client.
    case postgres(String)
    /// `sqlite:PATH`: the embedded log in one file.
    case sqlite(path: String)

    /// Parses `eventlog.url`.
    public init(parsing text: String) throws {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(text)
        } else if text.hasPrefix("sqlite:") {
            self = .sqlite(path: String(text.dropFirst("sqlite:".count)))
        } else {
            throw ConfigurationFailure(message: "eventlog.url must start with postgres:// or sqlite:, is '\(StoreURL.redacted(text))'")
        }
    }

    /// The kind of log, as the start-up line names it.
    public var kind: String {
        switch self {
        case .postgres: "PostgreSQL"
        case .sqlite: "SQLite"
        }
    }

    /// The URL with its password masked.
    public var description: String {
        switch self {
        case .postgres(let url): StoreURL.redacted(url)
        case .sqlite(let path): "sqlite:\(path)"
        }
    }
}
