import Foundation
import ReadModelSupport
public import TokenLedger

/// The MongoDB read model: the collection `current_tokens`, one document per stream
/// (`_id` = `project/platform/appid`, a unique index on the stream, a TTL index on `expires_at`),
/// upserted only by a newer position; the checkpoint in `tokenledger_checkpoint`.
///
/// MongoDB offers no multi-document write outside a replica set's transactions, so the rows are
/// written first and the checkpoint after: a crash between them replays a page, which the
/// position guard makes harmless.
public final class MongoReadModel: ReadModel {
    public let name = "mongo"
    private let pool: BlockingPool<MongoConnection>
    private let node: String

    /// Connects lazily to `url` (`mongodb://host[:port]/database?…`).
    public init(url: String, node: String, timeout: Duration = .seconds(2), poolSize: Int = 4) throws {
        guard url.hasPrefix("mongodb://") || url.hasPrefix("mongodb+srv://") else {
            throw StoreURLError(text: url, reason: "expected mongodb://host[:port]/database")
        }
        self.node = node
        pool = BlockingPool(size: poolSize, store: "MongoDB") { try MongoConnection(url: url, timeout: timeout) }
    }

    /// Creates the indexes if they are missing (idempotent).
    public func prepare() async throws {
        try await call("create its indexes") { connection in
            _ = try connection.command(
                """
                {"createIndexes": "current_tokens", "indexes": [
                  {"key": {"project": 1, "platform": 1, "appid": 1}, "name": "stream", "unique": true},
                  {"key": {"expires_at": 1}, "name": "expiry", "expireAfterSeconds": 0}
                ]}
                """
            )
        }
    }

    public func checkpoint() async throws -> Int64 {
        try await call("read the checkpoint") { connection in
            try Self.checkpoint(connection)
        }
    }

    public func apply(_ rows: [ReadModelRow], checkpoint: Int64) async throws {
        let node = self.node
        try await call("apply") { connection in
            if !rows.isEmpty {
                let updates = rows.map(Self.upsert).joined(separator: ",\n")
                let reply = try connection.command(#"{"update": "current_tokens", "ordered": false, "updates": [\#(updates)]}"#)
                // A duplicate key means the document holds a newer position: the guard did its work.
                let errors = (reply["writeErrors"] as? [[String: Any]] ?? []).filter { Self.integer($0["code"]) != 11000 }
                if let first = errors.first {
                    throw MongoFailure(description: "MongoDB: \(first["errmsg"] ?? "write error") (\(errors.count) rows)")
                }
            }
            _ = try connection.command(
                """
                {"update": "tokenledger_checkpoint", "updates": [{"q": {"_id": "current_tokens"},
                  "u": {"$max": {"position": {"$numberLong": "\(checkpoint)"}}, "$set": {"node": \(MongoConnection.quoted(node))}},
                  "upsert": true}]}
                """
            )
        }
    }

    public func row(of stream: StreamID) async throws -> (row: ReadModelRow?, checkpoint: Int64) {
        try await call("read a token") { connection in
            let documents = try connection.find("current_tokens", filter: #"{"_id": \#(MongoConnection.quoted(stream.description))}"#)
            let row = documents.first.flatMap { try? Self.row($0) }?.belonging(to: stream)
            return (row, try Self.checkpoint(connection))
        }
    }

    public func snapshot() async throws -> ReadModelSnapshot {
        try await call("read everything") { connection in
            var snapshot = ReadModelSnapshot(checkpoint: try Self.checkpoint(connection), rows: [])
            for document in try connection.find("current_tokens", filter: "{}") {
                do {
                    if let row = try Self.row(document) { snapshot.rows.append(row) }
                } catch {
                    snapshot.foreign.append(("\(document["_id"] ?? "?")", LedgerError.explain(error)))
                }
            }
            return snapshot
        }
    }

    public func reset() async throws {
        try await call("reset") { connection in
            _ = try connection.command(#"{"delete": "current_tokens", "deletes": [{"q": {}, "limit": 0}]}"#)
            _ = try connection.command(#"{"delete": "tokenledger_checkpoint", "deletes": [{"q": {"_id": "current_tokens"}, "limit": 0}]}"#)
        }
    }

    public func shutdown() async {
        await pool.shutdown()
    }

    /// The update statement of one row: matches only an older position (or no document).
    private static func upsert(_ row: ReadModelRow) -> String {
        let id = MongoConnection.quoted(row.stream.description)
        var fields = [
            #""project": \#(MongoConnection.quoted(row.stream.project))"#,
            #""platform": \#(MongoConnection.quoted(row.stream.platform))"#,
            #""appid": \#(MongoConnection.quoted(row.stream.appid))"#,
            #""position": {"$numberLong": "\#(row.position)"}"#,
        ]
        let update: String
        if let token = row.token, let expiresAt = row.expiresAt {
            fields.append(#""token": \#(MongoConnection.quoted(token))"#)
            fields.append(#""expires_at": {"$date": {"$numberLong": "\#(expiresAt.unixMilliseconds)"}}"#)
            update = #"{"$set": {\#(fields.joined(separator: ", "))}}"#
        } else {
            update = #"{"$set": {\#(fields.joined(separator: ", "))}, "$unset": {"token": "", "expires_at": ""}}"#
        }
        return #"{"q": {"_id": \#(id), "position": {"$lt": {"$numberLong": "\#(row.position)"}}}, "u": \#(update), "upsert": true}"#
    }

    private struct NotOurs: Error, CustomStringConvertible {
        var description: String
    }

    private static func row(_ document: [String: Any]) throws -> ReadModelRow? {
        guard let id = document["_id"] as? String, let stream = try? StreamID(parsing: id),
            document["project"] as? String == stream.project, document["platform"] as? String == stream.platform,
            document["appid"] as? String == stream.appid
        else { throw NotOurs(description: "_id is not the stream its fields name") }
        guard let position = integer(document["position"]) else { throw NotOurs(description: "no position") }
        guard let token = document["token"] as? String else {
            return ReadModelRow(stream: stream, token: nil, expiresAt: nil, position: position)
        }
        guard let date = document["expires_at"] as? [String: Any], let milliseconds = integer(date["$date"]) else {
            throw NotOurs(description: "a token without expires_at")
        }
        return ReadModelRow(stream: stream, token: token, expiresAt: Date(timeIntervalSince1970: Double(milliseconds) / 1000), position: position)
    }

    private static func checkpoint(_ connection: MongoConnection) throws -> Int64 {
        let documents = try connection.find("tokenledger_checkpoint", filter: #"{"_id": "current_tokens"}"#)
        return documents.first.flatMap { integer($0["position"]) } ?? 0
    }

    /// An integer in canonical extended JSON: `{"$numberLong": "5"}`, `{"$numberInt": "5"}`, or a number.
    static func integer(_ value: Any?) -> Int64? {
        if let object = value as? [String: Any] {
            for key in ["$numberLong", "$numberInt"] {
                if let text = object[key] as? String { return Int64(text) }
            }
            if let double = object["$numberDouble"] as? String { return Double(double).map { Int64($0) } }
            return nil
        }
        if let number = value as? NSNumber { return number.int64Value }
        return nil
    }

    private func call<T: Sendable>(_ what: String, _ body: @escaping @Sendable (MongoConnection) throws -> T) async throws -> T {
        try await pool.withConnection(what, body)
    }
}
