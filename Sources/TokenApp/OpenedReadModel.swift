import ReadModelMongo
import ReadModelMySQL
import ReadModelRedis
import ReadModelSupport
import TokenLedger

/// A shared read model a configuration names, opened (connections are made on first use), with
/// the URL it came from.
struct OpenedReadModel: Sendable {
    let model: any ReadModel
    let url: String

    /// Opens every selected store, fastest first.
    static func open(_ settings: ReadModelSettings, node: String) throws -> [OpenedReadModel] {
        try settings.selected().map { store, url in
            do {
                switch store {
                case .redis: return OpenedReadModel(model: try RedisReadModel(url: url, node: node, timeout: settings.timeout), url: url)
                case .mysql: return OpenedReadModel(model: try MySQLReadModel(url: url, node: node, timeout: settings.timeout), url: url)
                case .mongo: return OpenedReadModel(model: try MongoReadModel(url: url, node: node, timeout: settings.timeout), url: url)
                }
            } catch let error as StoreURLError {
                throw ConfigurationFailure(message: "\(store.rawValue).url \(error)")
            }
        }
    }

    /// Makes sure the store answers (and has its tables), or says plainly which one does not.
    func prepare() async throws {
        do {
            try await model.prepare()
        } catch {
            throw ConfigurationFailure(message: "the \(model.name) read model at \(StoreURL.redacted(url)) cannot be used: \(LedgerError.explain(error))")
        }
    }
}
