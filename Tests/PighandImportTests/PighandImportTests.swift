import Foundation
import LedgerTestSupport
@testable import PighandImport
import Synchronization
import Testing
import TokenLedger

/// Importing pighand-token's `token_platform` into an in-memory ledger: apps registered, live
/// tokens carried over with no platform call, nothing twice, nothing on a dry run.
@Suite struct PighandImportTests {
    static func rows(now: Date, project: Int = 1) -> [PighandRow] {
        PighandTables.rows(now: Int(now.timeIntervalSince1970), project: project).map { row in
            PighandRow(
                id: String(row.id), projectID: String(row.projectID), platform: row.platform, appid: row.appid, secret: row.secret,
                accessToken: row.accessToken, expiresTime: row.expiresTime.map(String.init)
            )
        }
    }

    /// A ledger with WeChat and Feishu platforms that count their calls.
    struct Fixture {
        let wechat = FakePlatform(secret: "S1")
        let feishu = FakePlatform(secret: "S7")
        let ledger: LedgerFixture

        init() throws {
            ledger = try LedgerFixture(platforms: ["wechat": wechat, "feishu": feishu])
        }

        func head() async throws -> Int { try await ledger.log.readAll(after: 0, limit: 10_000).count }

        func run(_ store: any PighandStore, dryRun: Bool = false, pageSize: Int = 2) async throws -> (ImportSummary, [String]) {
            let lines = LineCollector()
            let clock = ledger.clock
            let summary = try await PighandImporter(ledger: ledger.ledger, dryRun: dryRun, pageSize: pageSize, now: { clock.now })
                .run(from: store, report: { lines.append($0) })
            return (summary, lines.all)
        }
    }

    @Test func liveTokensAreCarriedOverAndServedWithoutAPlatformCall() async throws {
        let fixture = try Fixture()
        let (summary, lines) = try await fixture.run(PighandRows(Self.rows(now: fixture.ledger.clock.now)))
        try Self.expectFirstImport(summary, lines)
        let live = try StreamID(project: "1", platform: "wechat", appid: "wx_live")
        let served = try await fixture.ledger.ledger.reader.token(for: live, secret: nil, context: CallContext())
        #expect(served.token == "LIVE-1")
        let app = try StreamID(project: "1", platform: "feishu", appid: "cli_7")
        #expect(try await fixture.ledger.ledger.reader.token(for: app, secret: nil, context: CallContext()).token == "a-7")
        #expect(fixture.ledger.ledger.projector.model.state(of: app)?.options == ["token": "app"], "feishu_app_internal is Feishu's app token")
        #expect(fixture.wechat.calls == 0 && fixture.feishu.calls == 0, "the import and the reads call no platform")
        let issued = try await fixture.ledger.log.read(stream: live, afterVersion: 0, limit: 10).filter { $0.type == .tokenIssued }
        #expect(try issued.map { try $0.decode(TokenIssued.self).reason } == [.imported])
        #expect(fixture.ledger.ledger.projector.model.state(of: live)?.calls.calls == 0, "an imported token is no call of ours")
    }

    @Test func aSecondRunAppendsNothingAndADryRunNeither() async throws {
        let fixture = try Fixture()
        let store = PighandRows(Self.rows(now: fixture.ledger.clock.now))
        let (dry, dryLines) = try await fixture.run(store, dryRun: true)
        #expect(try await fixture.head() == 0, "a dry run appends nothing")
        #expect(dryLines.contains { $0.hasPrefix("row 1: would register the secret of 1/wechat/wx_live; would carry over its token") }, "\(dryLines)")
        let (first, _) = try await fixture.run(store)
        #expect(dry == first, "a dry run says what the run does")
        let head = try await fixture.head()
        let (second, lines) = try await fixture.run(store)
        #expect(try await fixture.head() == head, "a second run appends nothing")
        #expect(second.appsRegistered == 0 && second.appsUnchanged == 4 && second.tokensCarried == 0 && second.tokensAlreadyCurrent == 3)
        #expect(!second.appended)
        #expect(!lines.contains { $0.contains("registered the secret") || $0.contains("carried over its token") }, "\(lines)")
    }

    @Test func aTokenOlderThanTheLedgersIsSkippedAndSaid() async throws {
        let fixture = try Fixture()
        let now = fixture.ledger.clock.now
        let stream = try StreamID(project: "1", platform: "wechat", appid: "wx_live")
        try await fixture.ledger.ledger.credentials.register(secret: "S1", for: stream, context: CallContext())
        let current = try await fixture.ledger.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        let older = PighandRow(
            id: "9", projectID: "1", platform: "wechat", appid: "wx_live", secret: "S1", accessToken: "OLDER",
            expiresTime: String(Int(now.timeIntervalSince1970) + 60)
        )
        let head = try await fixture.head()
        let (summary, lines) = try await fixture.run(PighandRows([older]))
        #expect(try await fixture.head() == head)
        #expect(summary.tokensLeft.mapValues(\.ids) == ["token older than the ledger's current one": ["9"]])
        #expect(lines.count == 1 && lines[0].hasPrefix("row 9: token not carried over: it expires"), "\(lines)")
        #expect(try await fixture.ledger.ledger.reader.token(for: stream, secret: nil, context: CallContext()).token == current.token)
    }

    @Test func anAppRemovedFromTheLedgerIsNotBroughtBackAndAChangedSecretIsSaid() async throws {
        let fixture = try Fixture()
        let now = Int(fixture.ledger.clock.now.timeIntervalSince1970)
        let removed = try StreamID(project: "1", platform: "wechat", appid: "gone")
        let changed = try StreamID(project: "1", platform: "wechat", appid: "rotated")
        for stream in [removed, changed] {
            try await fixture.ledger.ledger.credentials.register(secret: "NEW", for: stream, context: CallContext())
        }
        _ = try await fixture.ledger.ledger.credentials.remove(removed, context: CallContext())
        let rows = ["gone", "rotated"].enumerated().map { index, appid in
            PighandRow(id: String(index + 1), projectID: "1", platform: "wechat", appid: appid, secret: "OLD", accessToken: "T\(index)", expiresTime: String(now + 600))
        }
        let head = try await fixture.head()
        let (summary, lines) = try await fixture.run(PighandRows(rows))
        #expect(summary.rowsSkipped["app removed from the ledger"]?.ids == ["1"])
        #expect(lines.first == "row 1: skipped: 1/wechat/gone was removed from the ledger (credentials.removed): not brought back")
        #expect(lines.last?.hasPrefix("row 2: changed the secret or options of 1/wechat/rotated (the ledger held others)") == true, "\(lines)")
        #expect(try await fixture.head() == head + 2, "the rotated app's secret and token; nothing for the removed one")
    }

    @Test func aDuplicateWithAnotherSecretIsReportedNotGuessed() async throws {
        let fixture = try Fixture()
        var rows = Self.rows(now: fixture.ledger.clock.now)
        rows[3].secret = "OTHER"
        let (summary, lines) = try await fixture.run(PighandRows(rows))
        #expect(summary.rowsSkipped["duplicate app with another secret"]?.ids == ["4"])
        #expect(lines.contains { $0.hasPrefix("row 4: skipped: 1/wechat/wx_live is also row 1, with another secret") }, "\(lines)")
        let stream = try StreamID(project: "1", platform: "wechat", appid: "wx_live")
        #expect(fixture.ledger.ledger.projector.model.state(of: stream)?.secret == "S1")
    }

    @Test func adoptingDecidesFromTheStateAndNeedsAnAdmin() async throws {
        let now = Date()
        var state = StreamState()
        #expect(TokenAdoption.decide(token: "A", expiresAt: now.addingTimeInterval(10), state: nil, now: now) == .recorded)
        #expect(TokenAdoption.decide(token: "A", expiresAt: now, state: nil, now: now) == .expired)
        state.token = CurrentToken(value: "A", expiresAt: now.addingTimeInterval(100), position: 1, issuedAt: now)
        #expect(TokenAdoption.decide(token: "A", expiresAt: now.addingTimeInterval(100), state: state, now: now) == .alreadyCurrent)
        #expect(
            TokenAdoption.decide(token: "B", expiresAt: now.addingTimeInterval(50), state: state, now: now)
                == .olderThanCurrent(currentExpiresAt: now.addingTimeInterval(100))
        )
        #expect(TokenAdoption.decide(token: "B", expiresAt: now.addingTimeInterval(200), state: state, now: now) == .recorded)

        let fixture = try Fixture()
        let stream = try StreamID(project: "1", platform: "wechat", appid: "wx1")
        await #expect(throws: LedgerError.self) {
            _ = try await fixture.ledger.ledger.credentials.adopt(token: "T", expiresAt: now.addingTimeInterval(60), for: stream, context: CallContext())
        }
        try await fixture.ledger.ledger.credentials.register(secret: "S1", for: stream, context: CallContext())
        var reader = CallContext(actor: "reader")
        reader.mayChangeCredentials = false
        await #expect(throws: LedgerError(.forbidden, "carrying a token over to \(stream) needs an admin key")) {
            _ = try await fixture.ledger.ledger.credentials.adopt(token: "T", expiresAt: now.addingTimeInterval(60), for: stream, context: reader)
        }
    }

    @Test func aLargeTableIsReadPageByPageAndSummarisedInAFewLines() async throws {
        let fixture = try Fixture()
        let rows = (1...2500).map { index in
            PighandRow(id: String(index), projectID: "1", platform: "qq", appid: "q\(index)", secret: "S", accessToken: nil, expiresTime: nil)
        }
        let pages = LineCollector()
        let summary = try await PighandImporter(ledger: fixture.ledger.ledger, dryRun: false, pageSize: 1000)
            .run(from: PighandRows(rows), report: { _ in }, progress: { read, total in pages.append("\(read)/\(total ?? -1)") })
        #expect(pages.all == ["1000/2500", "2000/2500", "2500/2500"], "progress after every page")
        let skipped = try #require(summary.rowsSkipped["unsupported or unknown platform"])
        #expect(skipped.count == 2500 && skipped.ids.count == ImportSummary.Rows.named, "all counted, the first named")
        #expect(summary.lines(dryRun: false).contains("  2500 unsupported or unknown platform (row 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, …)"))
    }

    @Test func mongoDocumentsAreReadInEitherSpelling() throws {
        let snake = PighandMongo.row(Data(#"{"_id":{"$oid":"65a1"},"project_id":{"$numberInt":"3"},"platform":"wechat","appid":"wx","secret":"S","access_token":null,"expires_time":{"$numberLong":"1700000000"}}"#.utf8))
        #expect(snake == PighandRow(id: "65a1", projectID: "3", platform: "wechat", appid: "wx", secret: "S", accessToken: nil, expiresTime: "1700000000"))
        let camel = PighandMongo.row(Data(#"{"_id":"x","projectId":"3","platform":"wechat","appid":"wx","secret":"S","accessToken":"T","expiresTime":{"$numberDouble":"1700000000.0"}}"#.utf8))
        #expect(camel == PighandRow(id: "x", projectID: "3", platform: "wechat", appid: "wx", secret: "S", accessToken: "T", expiresTime: "1700000000"))
    }

    /// What the first import of `PighandTables.rows` reports.
    static func expectFirstImport(_ summary: ImportSummary, _ lines: [String]) throws {
        #expect(summary.rows == 7)
        #expect(summary.appsRegistered == 4, "wx_live, wx_expired, wx_null, cli_7")
        #expect(summary.tokensCarried == 2)
        #expect(summary.tokensAlreadyCurrent == 1, "the duplicate row's token")
        #expect(summary.tokensLeft.mapValues(\.ids) == ["expired token": ["2"], "without a token": ["3"]])
        #expect(Set(summary.rowsSkipped.keys) == ["unsupported or unknown platform", "invalid id"])
        #expect(summary.rowsSkipped["unsupported or unknown platform"]?.ids == ["5"])
        #expect(summary.rowsSkipped["invalid id"]?.ids == ["6"])
        #expect(lines.contains { $0.hasPrefix("row 5: skipped: unknown platform 'qq'") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("row 6: skipped: appid may contain only") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("row 2: registered the secret of 1/wechat/wx_expired; token not carried over: it expired") }, "\(lines)")
    }
}

/// Lines reported by an import, collected across its callbacks.
final class LineCollector: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
