import Foundation
import TokenLedger

/// The shared read models: `redis.url`, `mysql.url`, `mongo.url`, `readmodels` and
/// `readmodels_timeout_ms`. Memory is always kept: every replica serves from it.
public struct ReadModelSettings: Sendable {
    /// A shared read model.
    public enum Store: String, Sendable, CaseIterable {
        /// `redis.url`: `redis://[:password@]host[:port][/db]`.
        case redis
        /// `mysql.url`: `mysql://user[:password]@host[:port]/database`.
        case mysql
        /// `mongo.url`: a MongoDB connection string naming the database.
        case mongo
    }

    /// `readmodels` (default `auto`).
    public enum Selection: Sendable, Equatable {
        /// Memory and every store whose URL is set.
        case auto
        /// Every store; each needs its URL.
        case all
        /// These stores (memory is implied); each needs its URL.
        case only(Set<Store>)

        /// Parses `auto`, `all`, or a comma-separated list of `memory,redis,mysql,mongo`.
        public init(parsing text: String) throws {
            switch text.trimmingCharacters(in: .whitespaces) {
            case "auto", "": self = .auto
            case "all": self = .all
            default:
                var stores: Set<Store> = []
                for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where name != "memory" {
                    guard let store = Store(rawValue: name) else {
                        throw ConfigurationFailure(message: "readmodels: unknown read model '\(name)'; known: memory, redis, mysql, mongo")
                    }
                    stores.insert(store)
                }
                self = .only(stores)
            }
        }
    }

    /// `<store>.url` of each store whose URL is set (an empty value counts as unset).
    public var urls: [Store: String] = [:]
    /// `readmodels`.
    public var selection = Selection.auto
    /// `readmodels_timeout_ms` (default 2000): bound on every call to a shared read model.
    public var timeout = Duration.milliseconds(2000)

    /// The defaults: no shared read model.
    public init() {}

    /// The shared models to run, fastest first, each with its URL; a selected store without a
    /// URL is a `ConfigurationFailure` (checked when the configuration is read).
    public func selected() throws -> [(store: Store, url: String)] {
        try Store.allCases.compactMap { store in
            switch selection {
            case .auto:
                return urls[store].map { (store, $0) }
            case .all, .only:
                if case .only(let chosen) = selection, !chosen.contains(store) { return nil }
                guard let url = urls[store] else {
                    throw ConfigurationFailure(message: "readmodels names \(store.rawValue) but \(store.rawValue).url is not set")
                }
                return (store, url)
            }
        }
    }
}
