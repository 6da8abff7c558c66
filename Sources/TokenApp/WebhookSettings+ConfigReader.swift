public import Configuration
import Foundation
import Platforms
import ReadModelSupport
import TokenLedger

extension WebhookSettings {
    /// Reads `webhooks` and `webhooks_*` from the root reader (they are top-level keys).
    public init(reader: ConfigReader) throws {
        self.init()
        subscriptions = try reader.stringArray(forKey: "webhooks", isSecret: true, default: []).map(Self.parse)
        var seen: Set<String> = []
        for subscription in subscriptions where !seen.insert(subscription.id).inserted {
            throw ConfigurationFailure(message: "webhooks: the id \(subscription.id) is used twice")
        }
        maxAttempts = reader.int(forKey: "webhooks_max_attempts", default: maxAttempts)
        guard maxAttempts >= 1 else {
            throw ConfigurationFailure(message: "webhooks_max_attempts must be at least 1, is \(maxAttempts)")
        }
        for (key, path) in [("webhooks_backoff_ms", \Self.backoff), ("webhooks_max_backoff_ms", \Self.maxBackoff), ("webhooks_timeout_ms", \Self.timeout)] {
            let milliseconds = reader.int(forKey: ConfigKey(key), default: Int(self[keyPath: path].milliseconds))
            guard milliseconds > 0 else { throw ConfigurationFailure(message: "\(key) must be positive, is \(milliseconds)") }
            self[keyPath: path] = .milliseconds(milliseconds)
        }
    }

    /// Refuses webhooks over `log` unless it is PostgreSQL, where their checkpoints live.
    func checkLog(_ log: EventLogURL) throws {
        guard !subscriptions.isEmpty, case .sqlite = log else { return }
        throw ConfigurationFailure(
            message: "webhooks need the PostgreSQL log (eventlog.url: postgres://…): their checkpoints and parked state live with it, "
                + "so that every replica sees them; remove webhooks or use PostgreSQL"
        )
    }

    /// `ID url=URL secret=SECRET [events=a+b] [projects=p+q]`: lists are joined with `+`, since an
    /// environment variable separates the entries themselves with commas.
    static func parse(_ entry: String) throws -> WebhookSubscription {
        let words = entry.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let format = "webhooks entries are written ID url=URL secret=SECRET [events=a+b] [projects=p+q]"
        guard let id = words.first, !id.contains("=") else { throw ConfigurationFailure(message: format) }
        guard id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw ConfigurationFailure(message: "webhooks: the id '\(id)' may hold letters, digits, '-', '_' and '.' only")
        }
        var fields: [String: String] = [:]
        for word in words.dropFirst() {
            guard let equals = word.firstIndex(of: "=") else { throw ConfigurationFailure(message: format) }
            fields[String(word[..<equals])] = String(word[word.index(after: equals)...])
        }
        if let unknown = Set(fields.keys).subtracting(["url", "secret", "events", "projects"]).sorted().first {
            throw ConfigurationFailure(message: "webhook \(id): unknown field '\(unknown)'; \(format)")
        }
        guard let url = fields["url"] else { throw ConfigurationFailure(message: "webhook \(id) has no url") }
        _ = try ConfigurationFailure.rethrowing { try TokenURLPolicy.host(of: url, name: "the url of webhook \(id)") }
        guard var secret = fields["secret"], !secret.isEmpty else { throw ConfigurationFailure(message: "webhook \(id) has no secret") }
        if secret.hasPrefix("$") {
            let name = String(secret.dropFirst())
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw ConfigurationFailure(message: "webhook \(id) takes its secret from $\(name), which is not set")
            }
            secret = value
        }
        var events = Set(WebhookEventType.allCases)
        if let list = fields["events"] {
            events = try Set(
                list.split(separator: "+").map { name in
                    guard let type = WebhookEventType(rawValue: String(name)) else {
                        throw ConfigurationFailure(
                            message: "webhook \(id): unknown event '\(name)'; known: \(WebhookEventType.allCases.map(\.rawValue).joined(separator: ", "))"
                        )
                    }
                    return type
                }
            )
        }
        let projects = Set((fields["projects"] ?? "").split(separator: "+").map(String.init))
        return WebhookSubscription(id: id, url: url, secret: secret, events: events, projects: projects)
    }
}
