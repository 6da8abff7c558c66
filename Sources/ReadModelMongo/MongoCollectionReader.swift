public import Foundation
import ReadModelSupport

/// Reads a collection another program wrote (pighand-token's `token_platform`, for `tokenledger
/// import`) in pages by `_id`: each page is one `find` sorted on `_id` from the last one seen, so
/// a collection of any size needs one page of memory and no cursor is held open between pages.
/// Documents come out as canonical extended JSON (`{"$numberLong": "…"}`, `{"$oid": "…"}`).
public final class MongoCollectionReader: Sendable {
    private let pool: BlockingPool<MongoConnection>

    /// Connects lazily to `url` (`mongodb://host[:port]/database?…`); `timeout` bounds the
    /// connection and every read unless the URL sets its own.
    public init(url: String, timeout: Duration = .seconds(10)) throws {
        guard url.hasPrefix("mongodb://") || url.hasPrefix("mongodb+srv://") else {
            throw StoreURLError(text: url, reason: "expected mongodb://host[:port]/database")
        }
        pool = BlockingPool(size: 1, store: "MongoDB") { try MongoConnection(url: url, timeout: timeout) }
    }

    /// The number of documents of `collection`.
    public func count(_ collection: String) async throws -> Int {
        try await pool.withConnection("count the documents of \(collection)") { connection in
            let reply = try connection.command(#"{"count": \#(MongoConnection.quoted(collection))}"#)
            return Int(MongoReadModel.integer(reply["n"]) ?? 0)
        }
    }

    /// Up to `limit` documents of `collection` whose `_id` is above `after` (all, when nil), in
    /// `_id` order, each as JSON; and the `_id` of the last one, as JSON, to pass as the next `after`.
    public func page(_ collection: String, after: String?, limit: Int) async throws -> (documents: [Data], lastID: String?) {
        let filter = after.map { #"{"_id": {"$gt": \#($0)}}"# } ?? "{}"
        let command = """
            {"find": \(MongoConnection.quoted(collection)), "filter": \(filter), "sort": {"_id": 1}, "limit": \(limit), "batchSize": \(limit)}
            """
        return try await pool.withConnection("read \(collection)") { connection in
            let reply = try connection.command(command)
            let cursor = reply["cursor"] as? [String: Any] ?? [:]
            let documents = cursor["firstBatch"] as? [[String: Any]] ?? []
            // The limit is the batch size: the server has closed the cursor, nothing to kill.
            let lastID = try documents.last?["_id"].map {
                String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.fragmentsAllowed, .sortedKeys]), as: UTF8.self)
            }
            return (try documents.map { try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) }, lastID)
        }
    }

    /// Stops the reader's thread.
    public func shutdown() async {
        await pool.shutdown()
    }
}
