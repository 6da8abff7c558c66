import LedgerTestSupport
import Foundation
import PlatformSimulator
import Testing

/// `tokenledger import pighand` and `tokenledger config` as an operator runs them: pighand-token's
/// table in MariaDB and its collection in the MongoDB-protocol server, then the imported tokens
/// served by `serve` without a platform call.
@Suite(.serialized)
struct ImportCommandTests {
    @Test(.timeLimit(.minutes(3)), arguments: ["mysql", "mongo"])
    func importDryRunThenImportThenServeTheImportedTokensWithoutAPlatformCall(store: String) async throws {
        try await withSimulator { simulator in
            let rows = PighandTables.rows(now: Int(Date().timeIntervalSince1970), project: 1)
            let url = store == "mysql" ? try PighandTables.mysql(rows) : try PighandTables.mongo(rows)
            let folder = NSTemporaryDirectory() + "tokenledger-import-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let arguments = ["import", "pighand", "--\(store)", url]

            let dry = try Command.run(arguments + ["--dry-run"], folder: folder)
            #expect(dry.status == 0, "\(dry.output)")
            #expect(dry.output.contains("would register the secret of 1/wechat/wx_live; would carry over its token"), "\(dry.output)")
            #expect(dry.output.contains("tokens carried over: 2 (dry run)"), "\(dry.output)")
            #expect(dry.output.contains("read 7 of 7 rows"), "progress on standard error: \(dry.output)")
            let history = try Command.run(["events"], folder: folder)
            #expect(!history.output.contains("credentials.set"), "a dry run appends nothing: \(history.output)")

            let first = try Command.run(arguments, folder: folder)
            #expect(first.status == 0, "\(first.output)")
            #expect(first.output.contains("registered the secret of 1/wechat/wx_live; carried over its token"), "\(first.output)")
            #expect(first.output.contains("skipped: unknown platform 'qq'"), "\(first.output)")
            #expect(first.output.contains("skipped: appid may contain only"), "\(first.output)")
            #expect(first.output.contains("1 expired token"), "\(first.output)")
            #expect(first.output.contains("1 without a token"), "\(first.output)")
            #expect(first.output.contains("apps: 4"), "\(first.output)")
            #expect(!first.output.contains("S1") && !first.output.contains("LIVE-1"), "no secret or token printed")

            let second = try Command.run(arguments, folder: folder)
            #expect(second.status == 0, "\(second.output)")
            #expect(second.output.contains("tokens carried over: 0 (already current: 3)"), "\(second.output)")
            #expect(second.output.contains("registered or changed: 0"), "\(second.output)")

            let service = try await EmbeddedServer.start(
                simulator: simulator, folder: folder, extra: ["PLATFORMS_FEISHU_BASE_URL": simulator.baseURL]
            )
            defer { service.server.stop() }
            #expect(try await HTTP.envelope("GET", service.url("/token/1/wechat/wx_live")).envelope.data == "LIVE-1")
            #expect(try await HTTP.envelope("GET", service.url("/token/1/feishu/cli_7")).envelope.data == "a-7")
            #expect(simulator.state.totalCalls() == 0, "the imported tokens are served without a platform call")
            let events = try Command.run(["events", "--type", "token.issued"], folder: folder)
            #expect(events.output.contains("reason=imported"), "\(events.output)")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func configPrintsEveryKeyWithItsLayerAndMasksSecrets() throws {
        let folder = NSTemporaryDirectory() + "tokenledger-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let key = TestEnvironment.secretsKey()
        let (status, output) = try Command.run(["config"], folder: folder, environment: ["SECRETS_KEY": key, "MYSQL_URL": "mysql://u:pw@db:3306/t"])
        #expect(status == 0, "\(output)")
        #expect(!output.contains(key) && !output.contains(":pw@"), "\(output)")
        #expect(output.contains("secrets.key = ********"), "\(output)")
        #expect(output.contains("mysql.url = mysql://u:***@db:3306/t"), "\(output)")
        #expect(output.range(of: #"log\.level = warning\s+\(config/test\.yaml\)"#, options: .regularExpression) != nil, "\(output)")
        #expect(output.range(of: #"http\.port = 3050\s+\(config/default\.yaml\)"#, options: .regularExpression) != nil, "\(output)")
        #expect(output.range(of: #"secrets\.key = \*+\s+\(environment \(SECRETS_KEY\)\)"#, options: .regularExpression) != nil, "\(output)")
        let bad = try Command.run(["config"], folder: folder, environment: ["HTTP_PORT": "70000"])
        #expect(bad.status == 1 && bad.output.contains("http.port must be 0 to 65535"), "\(bad.output)")
    }
}
