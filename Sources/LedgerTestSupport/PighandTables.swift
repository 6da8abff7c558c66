import Foundation
import Testing

/// pighand-token's `token_platform`, loaded into the test's MariaDB and MongoDB-protocol server
/// as pighand-token would have left it, each time in a database of its own.
public enum PighandTables {
    /// A row as pighand-token wrote it (nil: NULL).
    public struct Row: Sendable {
        /// `id`, the primary key.
        public var id: Int
        /// `project_id`.
        public var projectID: Int
        /// `platform`, as pighand-token spelled it.
        public var platform: String
        /// `appid`.
        public var appid: String
        /// `secret`.
        public var secret: String
        /// `access_token`.
        public var accessToken: String?
        /// `expires_time`, seconds since 1970.
        public var expiresTime: Int?

        /// Creates a row.
        public init(id: Int, projectID: Int, platform: String, appid: String, secret: String, accessToken: String?, expiresTime: Int?) {
            (self.id, self.projectID, self.platform, self.appid, self.secret) = (id, projectID, platform, appid, secret)
            (self.accessToken, self.expiresTime) = (accessToken, expiresTime)
        }
    }

    /// The rows every import test starts from, `now` in seconds since 1970: a live token, an
    /// expired one, a NULL one, a duplicate row, an unknown platform, an invalid id, and a Feishu
    /// app token (`feishu_app_internal`).
    public static func rows(now: Int, project: Int) -> [Row] {
        [
            Row(id: 1, projectID: project, platform: "wechat", appid: "wx_live", secret: "S1", accessToken: "LIVE-1", expiresTime: now + 3600),
            Row(id: 2, projectID: project, platform: "wechat", appid: "wx_expired", secret: "S2", accessToken: "DEAD-2", expiresTime: now - 60),
            Row(id: 3, projectID: project, platform: "wechat", appid: "wx_null", secret: "S3", accessToken: nil, expiresTime: nil),
            Row(id: 4, projectID: project, platform: "wechat", appid: "wx_live", secret: "S1", accessToken: "LIVE-1", expiresTime: now + 3600),
            Row(id: 5, projectID: project, platform: "qq", appid: "q1", secret: "S5", accessToken: "Q-5", expiresTime: now + 3600),
            Row(id: 6, projectID: project, platform: "wechat", appid: "wx bad/id", secret: "S6", accessToken: "B-6", expiresTime: now + 3600),
            Row(id: 7, projectID: project, platform: "feishu_app_internal", appid: "cli_7", secret: "S7", accessToken: "a-7", expiresTime: now + 7200),
        ]
    }

    /// Creates a database of its own on the test MariaDB with `rows` in `token_platform` (pighand-token's
    /// `public/mysql.sql`, without MySQL 8's collation); returns its URL.
    public static func mysql(_ rows: [Row]) throws -> String {
        let base = try #require(URLComponents(string: try TestEnvironment.required("TOKENLEDGER_TEST_MYSQL_URL")))
        let database = "pighand_\(UInt32.random(in: 0...UInt32.max))"
        func literal(_ text: String?) -> String { text.map { "'\($0.replacingOccurrences(of: "'", with: "''"))'" } ?? "NULL" }
        let values = rows.map { row in
            "(\(row.id), \(row.projectID), \(literal(row.platform)), \(literal(row.appid)), \(literal(row.secret)), \(literal(row.accessToken)), \(row.expiresTime.map(String.init) ?? "NULL"))"
        }
        let sql = """
            CREATE DATABASE \(database);
            USE \(database);
            CREATE TABLE token_platform (
              id bigint unsigned NOT NULL AUTO_INCREMENT,
              project_id bigint unsigned NOT NULL,
              platform varchar(32) NOT NULL,
              appid varchar(32) NOT NULL,
              secret varchar(32) NOT NULL,
              access_token varchar(255) DEFAULT NULL,
              expires_time bigint unsigned DEFAULT NULL,
              PRIMARY KEY (id),
              KEY idx_develop_key_project_id_platform_appid (project_id, platform, appid)
            ) DEFAULT CHARSET=utf8mb4;
            \(values.isEmpty ? "" : "INSERT INTO token_platform VALUES \(values.joined(separator: ",\n"));")
            """
        let (status, output) = try TestServers.run(
            "/usr/bin/mariadb", ["--no-defaults", "-uroot", "-h127.0.0.1", "-P\(base.port ?? 3306)", "--protocol=tcp", "-e", sql]
        )
        guard status == 0 else { throw TestServers.Failure("loading token_platform into MariaDB failed: \(output)") }
        var url = base
        url.path = "/" + database
        return try #require(url.string)
    }

    /// Creates a database of its own on the test MongoDB-protocol server with `rows` in the
    /// collection `token_platform` (fields as pighand-token's `public/mongo.js`), written by pymongo
    /// from the server's own environment; returns its URL.
    public static func mongo(_ rows: [Row]) throws -> String {
        let base = try #require(URLComponents(string: try TestEnvironment.required("TOKENLEDGER_TEST_MONGO_URL")))
        let database = "pighand_\(UInt32.random(in: 0...UInt32.max))"
        let documents = rows.map { row -> [String: Any] in
            [
                "project_id": row.projectID, "platform": row.platform, "appid": row.appid, "secret": row.secret,
                "access_token": row.accessToken ?? NSNull(), "expires_time": row.expiresTime ?? NSNull(),
            ]
        }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: documents), as: UTF8.self)
        let script = """
            import json, sys, pymongo
            client = pymongo.MongoClient(sys.argv[1], directConnection=True)
            documents = json.loads(sys.argv[3])
            if documents: client[sys.argv[2]]["token_platform"].insert_many(documents)
            """
        let venv = ProcessInfo.processInfo.environment["TOKENLEDGER_MONGO_VENV"] ?? "/tmp/tokenledger-secantus"
        let server = "mongodb://\(base.host ?? "127.0.0.1"):\(base.port ?? 27017)"
        let (status, output) = try TestServers.run(venv + "/bin/python", ["-c", script, server, database, json])
        guard status == 0 else { throw TestServers.Failure("loading token_platform into MongoDB failed: \(output)") }
        var url = base
        url.path = "/" + database
        return try #require(url.string)
    }
}
