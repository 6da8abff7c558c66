import Foundation
import LedgerTestSupport
import PighandImport
import Testing
import TokenLedger

/// The import against pighand-token's real stores: `token_platform` in MariaDB and in the
/// MongoDB-protocol server, read in pages of two rows.
@Suite(.serialized) struct PighandStoreTests {
    @Test(.timeLimit(.minutes(1))) func importFromMariaDBCarriesLiveTokensOverOnceWithoutAPlatformCall() async throws {
        let fixture = try PighandImportTests.Fixture()
        let url = try PighandTables.mysql(PighandTables.rows(now: Int(fixture.ledger.clock.now.timeIntervalSince1970), project: 1))
        let store = try PighandMySQL(url: url)
        #expect(!store.name.isEmpty)
        #expect(try await store.count() == 7)
        let (summary, lines) = try await fixture.run(store)
        try PighandImportTests.expectFirstImport(summary, lines)
        try await Self.expectServedWithoutPlatformCallAndNothingTwice(fixture, store)
        await store.close()
    }

    @Test(.timeLimit(.minutes(1))) func importFromMongoCarriesLiveTokensOverOnceWithoutAPlatformCall() async throws {
        let fixture = try PighandImportTests.Fixture()
        let url = try PighandTables.mongo(PighandTables.rows(now: Int(fixture.ledger.clock.now.timeIntervalSince1970), project: 1))
        let store = try PighandMongo(url: url)
        #expect(try await store.count() == 7)
        let (dry, _) = try await fixture.run(store, dryRun: true)
        #expect(try await fixture.head() == 0, "a dry run appends nothing")
        let (summary, lines) = try await fixture.run(store)
        #expect(dry == summary)
        // MongoDB's ids are ObjectIds: counted here, not named.
        #expect(summary.rows == 7 && summary.appsRegistered == 4 && summary.tokensCarried == 2 && summary.tokensAlreadyCurrent == 1)
        #expect(summary.tokensLeft.mapValues(\.count) == ["expired token": 1, "without a token": 1])
        #expect(summary.rowsSkipped.mapValues(\.count) == ["unsupported or unknown platform": 1, "invalid id": 1])
        #expect(lines.contains { $0.contains("skipped: unknown platform 'qq'") }, "\(lines)")
        try await Self.expectServedWithoutPlatformCallAndNothingTwice(fixture, store)
        await store.close()
    }

    @Test(.timeLimit(.minutes(1))) func withItsRedisTheNewestTokensAreTakenFromRedis() async throws {
        let fixture = try PighandImportTests.Fixture()
        let project = Int.random(in: 100_000...999_999)
        let url = try PighandTables.mysql(PighandTables.rows(now: Int(fixture.ledger.clock.now.timeIntervalSince1970), project: project))
        // save_model auto with Redis: pighand-token kept the newest tokens in Redis only.
        let redis = try TestEnvironment.required("TOKENLEDGER_TEST_REDIS_URL")
        let port = String(URLComponents(string: redis)?.port ?? 6379)
        for (appid, token) in [("wx_live", "NEWER-1"), ("wx_null", "FROM-REDIS-3")] {
            _ = try Command.output("/usr/bin/redis-cli", ["-p", port, "SET", "\(project)_wechat_\(appid)", token, "EX", "5000"])
        }
        let store = try PighandRedis(try PighandMySQL(url: url), url: redis)
        let (summary, _) = try await fixture.run(store)
        #expect(summary.tokensCarried == 3, "wx_live's and wx_null's from Redis, cli_7's from the table")
        for (appid, token) in [("wx_live", "NEWER-1"), ("wx_null", "FROM-REDIS-3")] {
            let stream = try StreamID(project: String(project), platform: "wechat", appid: appid)
            let served = try await fixture.ledger.ledger.reader.token(for: stream, secret: nil, context: CallContext())
            #expect(served.token == token)
            #expect(abs(served.expiresAt.timeIntervalSince(fixture.ledger.clock.now) - 5000) < 10, "Redis's TTL is the expiry")
        }
        #expect(fixture.wechat.calls == 0)
        await store.close()
    }

    /// The imported tokens are served without a platform call, and a second run appends nothing.
    static func expectServedWithoutPlatformCallAndNothingTwice(_ fixture: PighandImportTests.Fixture, _ store: any PighandStore) async throws {
        let live = try StreamID(project: "1", platform: "wechat", appid: "wx_live")
        #expect(try await fixture.ledger.ledger.reader.token(for: live, secret: nil, context: CallContext()).token == "LIVE-1")
        let app = try StreamID(project: "1", platform: "feishu", appid: "cli_7")
        #expect(try await fixture.ledger.ledger.reader.token(for: app, secret: nil, context: CallContext()).token == "a-7")
        #expect(fixture.wechat.calls == 0 && fixture.feishu.calls == 0)
        let head = try await fixture.head()
        let (again, _) = try await fixture.run(store)
        #expect(!again.appended)
        #expect(try await fixture.head() == head, "a second run appends nothing")
    }
}
