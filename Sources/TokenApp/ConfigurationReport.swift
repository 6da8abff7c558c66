import Configuration
import Foundation
import ReadModelSupport
import Synchronization
import TokenLedger

/// The effective configuration, key by key, with the layer that set each one (`tokenledger
/// config`): what a replica started with the same environment and folder will do. Every secret
/// is masked: values the reader marks secret, passwords in URLs, declared apps' secrets.
public struct ConfigurationReport: Sendable {
    /// One key as the configuration read it.
    public struct Entry: Sendable, Equatable {
        /// The key, e.g. `http.port`.
        public var key: String
        /// Its value, masked where secret; `(unset)` when nothing sets it and it has no default.
        public var value: String
        /// Where it came from: `environment (HTTP_PORT)`, `config/test.yaml`, `config/default.yaml` or `default`.
        public var layer: String

        /// Creates an entry.
        public init(key: String, value: String, layer: String) {
            self.key = key
            self.value = value
            self.layer = layer
        }
    }

    /// Every key read, in the order the configuration reads them.
    public var entries: [Entry]

    /// Reads the configuration from `directory` under `environment` as `ConfigurationLoader` does,
    /// recording each key. A bad value throws, as it would stop a start.
    public static func load(directory: String, environment: [String: String]) async throws -> ConfigurationReport {
        let recorder = Recorder(layers: ConfigurationLoader.layers(environment: environment))
        _ = try await ConfigurationLoader.load(directory: directory, environment: environment, reporter: recorder)
        return ConfigurationReport(entries: recorder.entries)
    }

    /// `key = value  (layer)` lines, aligned.
    public var lines: [String] {
        let width = entries.map { $0.key.count + $0.value.count }.max() ?? 0
        return entries.map { entry in
            let text = "\(entry.key) = \(entry.value)"
            return text + String(repeating: " ", count: max(1, width + 4 - text.count)) + "(\(entry.layer))"
        }
    }

    /// Collects the reader's access events, first read of each key kept.
    final class Recorder: AccessReporter {
        private let layers: [String]
        private let recorded = Mutex<(entries: [Entry], seen: Set<String>)>(([], []))

        init(layers: [String]) { self.layers = layers }

        var entries: [Entry] { recorded.withLock { $0.entries } }

        func report(_ event: AccessEvent) {
            let key = event.metadata.key.components.joined(separator: ".")
            let answered = event.providerResults.firstIndex { result in
                if case .success(let lookup) = result.result { return lookup.value != nil }
                return false
            }
            let layer: String
            switch answered {
            case .some(0): layer = "environment (\(event.metadata.key.components.joined(separator: "_").uppercased()))"
            case .some(let index): layer = index < layers.count ? layers[index] : "provider \(index)"
            case .none: layer = "default"
            }
            let value: String
            switch event.result {
            case .success(.some(let configValue)): value = Self.render(configValue, key: key)
            case .success(.none): value = "(unset)"
            case .failure(let error): value = "(unreadable: \(error))"
            }
            recorded.withLock { state in
                guard state.seen.insert(key).inserted else { return }
                state.entries.append(Entry(key: key, value: value, layer: layer))
            }
        }

        /// Keys whose values are secret whatever the reader says of them.
        static let secretKeys: Set<String> = ["secrets.key", "secrets.previous_keys", "auth.keys"]

        /// A value as text, its secrets masked.
        static func render(_ value: ConfigValue, key: String) -> String {
            let masked = "********"
            // Webhook entries are read as secret; each shows its id, URL and events, its secret masked.
            let secret = (value.isSecret && key != "webhooks") || secretKeys.contains(key)
            switch value.content {
            case .string(let text):
                return secret ? masked : mask(text, key: key)
            case .stringArray(let texts):
                let shown = texts.map { text in
                    // A declared app shows which app it is, not its secret; a reference to a variable is no secret.
                    if key == "apps", let equals = text.firstIndex(of: "=") {
                        let secret = text[text.index(after: equals)...]
                        return String(text[...equals]) + (secret.hasPrefix("$") ? String(secret) : masked)
                    }
                    return secret ? masked : mask(text, key: key)
                }
                return "[" + shown.joined(separator: ", ") + "]"
            case .int(let number): return String(number)
            case .double(let number): return String(number)
            case .bool(let flag): return String(flag)
            case .bytes, .byteChunkArray: return masked
            case .intArray(let numbers): return "[" + numbers.map(String.init).joined(separator: ", ") + "]"
            case .doubleArray(let numbers): return "[" + numbers.map { String($0) }.joined(separator: ", ") + "]"
            case .boolArray(let flags): return "[" + flags.map { String($0) }.joined(separator: ", ") + "]"
            }
        }

        /// Passwords in URLs, app options that hold grants (`refresh_token`, `auth_code`) and
        /// webhooks' secrets (a reference to a variable is no secret).
        static func mask(_ text: String, key: String) -> String {
            let hidden: [String] =
                switch key {
                case "app_options": ["refresh_token=", "auth_code="]
                case "webhooks": ["secret="]
                default: []
                }
            guard !hidden.isEmpty else { return text.contains("://") ? StoreURL.redacted(text) : text }
            return text.split(separator: " ", omittingEmptySubsequences: false).map { part in
                for prefix in hidden where part.hasPrefix(prefix) {
                    return part.dropFirst(prefix.count).hasPrefix("$") ? String(part) : prefix + "********"
                }
                if part.hasPrefix("url=") { return "url=" + StoreURL.redacted(String(part.dropFirst(4))) }
                return String(part)
            }.joined(separator: " ")
        }
    }
}
