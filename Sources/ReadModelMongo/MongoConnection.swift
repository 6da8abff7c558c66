import Foundation
import CMongoC
import ReadModelSupport

/// A failure talking to MongoDB: the connection is not reused after it.
struct MongoFailure: Error, CustomStringConvertible {
    var description: String
}

/// One libmongoc client, used by one pool thread at a time; destroyed on release. Documents go in
/// and out as canonical extended JSON, so no `bson_t` leaves this file.
final class MongoConnection: BlockingConnection, @unchecked Sendable {
    private let client: OpaquePointer
    let database: String
    private static let libraryReady: Bool = {
        mongoc_init()
        return true
    }()

    /// Connects to `url` (a MongoDB connection string), bounding connection, server selection
    /// and every socket read by `timeout` unless the URL sets them.
    init(url: String, timeout: Duration) throws {
        _ = Self.libraryReady
        var error = bson_error_t()
        guard let uri = mongoc_uri_new_with_error(url, &error) else {
            throw MongoFailure(description: "mongo.url is not a MongoDB connection string: \(Self.message(error))")
        }
        defer { mongoc_uri_destroy(uri) }
        let milliseconds = Int32(timeout.milliseconds)
        for option in ["connecttimeoutms", "serverselectiontimeoutms", "sockettimeoutms"]
        where !url.lowercased().contains(option) {
            mongoc_uri_set_option_as_int32(uri, option, milliseconds)
        }
        guard let client = mongoc_client_new_from_uri(uri) else {
            throw MongoFailure(description: "cannot create a MongoDB client for the configured URL")
        }
        mongoc_client_set_error_api(client, 2)
        self.client = client
        database = mongoc_uri_get_database(uri).map { String(cString: $0) } ?? "tokenledger"
    }

    deinit {
        mongoc_client_destroy(client)
    }

    /// Runs a database command (canonical extended JSON) and returns its reply as a JSON object.
    @discardableResult
    func command(_ json: String) throws -> [String: Any] {
        let command = try Self.document(json)
        defer { bson_destroy(command) }
        let reply = Self.allocateReply()
        defer { Self.releaseReply(reply) }
        var error = bson_error_t()
        guard mongoc_client_command_simple(client, database, command, nil, reply, &error) else {
            throw MongoFailure(description: "MongoDB: \(Self.message(error))")
        }
        return try Self.object(reply)
    }

    /// Every document `filter` matches in `collection` (following the cursor through getMore).
    func find(_ collection: String, filter: String) throws -> [[String: Any]] {
        guard let handle = mongoc_client_get_collection(client, database, collection) else {
            throw MongoFailure(description: "MongoDB: no collection \(collection)")
        }
        defer { mongoc_collection_destroy(handle) }
        let query = try Self.document(filter)
        defer { bson_destroy(query) }
        guard let cursor = mongoc_collection_find_with_opts(handle, query, nil, nil) else {
            throw MongoFailure(description: "MongoDB: cannot open a cursor")
        }
        defer { mongoc_cursor_destroy(cursor) }
        var documents: [[String: Any]] = []
        var document: OpaquePointer?
        while mongoc_cursor_next(cursor, &document) {
            if let document { documents.append(try Self.object(document)) }
        }
        var error = bson_error_t()
        if mongoc_cursor_error(cursor, &error) {
            throw MongoFailure(description: "MongoDB: \(Self.message(error))")
        }
        return documents
    }

    /// A JSON string literal of `text` (quotes, backslashes, `$` and `.` carried as data).
    static func quoted(_ text: String) -> String {
        (try? String(decoding: JSONEncoder().encode(text), as: UTF8.self)) ?? "\"\""
    }

    private static func document(_ json: String) throws -> OpaquePointer {
        var error = bson_error_t()
        let bytes = Array(json.utf8)
        guard let document = bytes.withUnsafeBufferPointer({ bson_new_from_json($0.baseAddress, $0.count, &error) }) else {
            throw MongoFailure(description: "invalid document: \(message(error))")
        }
        return document
    }

    /// A reply `bson_t` the library initialises: caller-owned storage of bson.h's 128 bytes,
    /// aligned as it demands (Swift sees `bson_t` as opaque).
    private static func allocateReply() -> OpaquePointer {
        OpaquePointer(UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 128).initializeMemory(as: UInt8.self, repeating: 0, count: 128))
    }

    private static func releaseReply(_ reply: OpaquePointer) {
        bson_destroy(reply)
        UnsafeMutableRawPointer(reply).deallocate()
    }

    private static func object(_ document: OpaquePointer) throws -> [String: Any] {
        var length = 0
        guard let text = bson_as_canonical_extended_json(document, &length) else {
            throw MongoFailure(description: "MongoDB: a reply that is not valid BSON")
        }
        defer { bson_free(text) }
        let data = Data(bytes: text, count: length)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw MongoFailure(description: "MongoDB: a reply that is not a document")
        }
        return object
    }

    private static func message(_ error: bson_error_t) -> String {
        var copy = error
        let text = withUnsafeBytes(of: &copy.message) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        return "\(text) (domain \(error.domain), code \(error.code))"
    }
}
