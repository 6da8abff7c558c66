import Foundation
import ReadModelMongo
import ReadModelSupport

/// pighand-token's MongoDB collection `token_platform`, read by `_id`. Its `public/mongo.js` names
/// the fields as the MySQL columns (`project_id`, `access_token`, `expires_time`); its mongoose
/// model names them in camel case (`projectId`, `accessToken`, `expiresTime`): either is read.
public struct PighandMongo: PighandStore {
    public let name: String
    private let reader: MongoCollectionReader
    private let collection: String

    /// The collection `collection` of the database `url` names (`mongodb://host[:port]/database`).
    public init(url: String, collection: String = "token_platform", timeout: Duration = .seconds(10)) throws {
        reader = try MongoCollectionReader(url: url, timeout: timeout)
        name = StoreURL.redacted(url)
        self.collection = collection
    }

    public func count() async throws -> Int? {
        try await reader.count(collection)
    }

    public func rows(after cursor: String?, limit: Int) async throws -> (rows: [PighandRow], next: String?) {
        let page = try await reader.page(collection, after: cursor, limit: limit)
        let rows = page.documents.map(Self.row)
        return (rows, rows.count == limit ? page.lastID : nil)
    }

    public func close() async {
        await reader.shutdown()
    }

    /// A document (canonical extended JSON) as a row; a field of the wrong shape reads as absent,
    /// except `expires_time`, whose text is kept so that the report can show it.
    static func row(_ json: Data) -> PighandRow {
        let document = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] ?? [:]
        func field(_ snake: String, _ camel: String) -> String? {
            text(document[snake] ?? document[camel])
        }
        return PighandRow(
            id: text(document["_id"]) ?? "?",
            projectID: field("project_id", "projectId"),
            platform: field("platform", "platform"),
            appid: field("appid", "appid"),
            secret: field("secret", "secret"),
            accessToken: field("access_token", "accessToken"),
            expiresTime: field("expires_time", "expiresTime")
        )
    }

    /// A BSON value in canonical extended JSON as text: strings as they are, numbers as digits
    /// (`{"$numberLong": "5"}` is `5`), an ObjectId as its hex; nil for null or absent.
    static func text(_ value: Any?) -> String? {
        switch value {
        case let string as String: return string
        case let object as [String: Any]:
            for key in ["$numberLong", "$numberInt", "$oid", "$numberDecimal"] {
                if let text = object[key] as? String { return text }
            }
            if let double = object["$numberDouble"] as? String, let value = Double(double) {
                return value == value.rounded() && abs(value) < 1e18 ? String(Int64(value)) : double
            }
            return nil
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }
}
