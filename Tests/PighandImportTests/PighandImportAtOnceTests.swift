import Foundation
import LedgerTestSupport
@testable import PighandImport
import Testing
import TokenLedger

/// An import of many rows, several apps at once (into the real PostgreSQL log): it says and
/// appends exactly what an import of one row after the other does, its appends reach the log
/// together, and a failure stops it after the rows done, a second run going on from there.
@Suite(.serialized) struct PighandImportAtOnceTests {
    /// 200 apps in 228 rows, read in pages of 50: every tenth with an expired token, some without a token; some
    /// apps twice in a page with the same secret and a newer token, some again in a later page with
    /// the same token, some again with another secret.
    static func rows(project: String, now: Date) -> [PighandRow] {
        let now = Int(now.timeIntervalSince1970)
        func row(_ app: Int, _ secret: String, _ token: String?, _ expires: Int) -> PighandRow {
            PighandRow(id: "", projectID: project, platform: "wechat", appid: "wx\(app)", secret: secret, accessToken: token, expiresTime: String(expires))
        }
        var rows: [PighandRow] = []
        var later: [PighandRow] = []
        for app in 0..<200 {
            rows.append(row(app, "S\(app)", app % 15 == 7 ? nil : "T\(app)", app % 10 == 9 ? now - 60 : now + 3600))
            if app % 20 == 3 { rows.append(row(app, "S\(app)", "T\(app)-newer", now + 7200)) }
            if app % 20 == 13 { later.append(row(app, "S\(app)", "T\(app)", now + 3600)) }
            if app % 25 == 5 { later.append(row(app, "OTHER", "T\(app)-other", now + 7200)) }
        }
        return (rows + later).enumerated().map { index, row in
            var row = row
            row.id = String(index + 1)
            return row
        }
    }

    /// An importer into `fixture` reading pages of 50, by default 16 apps at once.
    static func importer(_ fixture: LedgerFixture, dryRun: Bool = false, oneAtATime: Bool = false) -> PighandImporter {
        let clock = fixture.clock
        var importer = PighandImporter(ledger: fixture.ledger, dryRun: dryRun, pageSize: 50, now: { clock.now })
        if oneAtATime { importer.appsAtOnce = 1 }
        return importer
    }

    /// The types of the events of each app of `project`, by app.
    static func events(_ log: any EventLog, project: String) async throws -> [[EventType]] {
        var events: [[EventType]] = []
        for app in 0..<200 {
            let stream = try StreamID(project: project, platform: "wechat", appid: "wx\(app)")
            events.append(try await log.read(stream: stream, afterVersion: 0, limit: 10).map(\.type))
        }
        return events
    }

    /// Runs `importer` over `rows`; its summary and report lines.
    static func run(_ importer: PighandImporter, _ rows: [PighandRow]) async throws -> (ImportSummary, [String]) {
        let lines = LineCollector()
        let summary = try await importer.run(from: PighandRows(rows), report: { lines.append($0) })
        return (summary, lines.all)
    }

    @Test(.timeLimit(.minutes(2))) func manyAppsAtOnceSayAndAppendWhatOneRowAfterTheOtherDoes() async throws {
        try await TestLogs.withPostgres { postgres in
            let log = FaultyLog(postgres)
            let clock = TestClock()
            let subject = try LedgerFixture(log: log, platforms: ["wechat": FakePlatform(secret: "S")], clock: clock)
            // One row after the other, as every import did before, in memory.
            let reference = try LedgerFixture(platforms: ["wechat": FakePlatform(secret: "S")], clock: clock)
            let project = "imp\(UInt32.random(in: 0...UInt32.max))"
            let rows = Self.rows(project: project, now: clock.now)
            func importer(_ fixture: LedgerFixture, dryRun: Bool = false, oneAtATime: Bool = false) -> PighandImporter {
                Self.importer(fixture, dryRun: dryRun, oneAtATime: oneAtATime)
            }

            let (dry, dryLines) = try await Self.run(importer(subject, dryRun: true), rows)
            let (referenceDry, referenceDryLines) = try await Self.run(importer(reference, dryRun: true, oneAtATime: true), rows)
            #expect(log.appends == 0 && log.fencedAppends == 0, "a dry run appends nothing")
            #expect(dry == referenceDry)
            #expect(dryLines == referenceDryLines)

            let (summary, lines) = try await Self.run(importer(subject), rows)
            let (referenceSummary, referenceLines) = try await Self.run(importer(reference, oneAtATime: true), rows)
            #expect(summary == referenceSummary)
            #expect(lines == referenceLines, "the same lines in row order")
            #expect(summary == dry, "a dry run says what the run does")
            #expect(summary.rows == rows.count && summary.appsRegistered == 200)
            #expect(summary.rowsSkipped.mapValues(\.ids) == ["duplicate app with another secret": ["211", "213", "216", "218", "220", "222", "225", "227"]])
            #expect(summary.tokensLeft["expired token"]?.count == 20)
            #expect(lines.contains { $0.hasPrefix("row 5: duplicate of row 4; carried over its token") }, "the newer token of the same page, after the first")

            // Per app, the same events: one credentials.set, then its token(s).
            let events = try await Self.events(subject.log, project: project)
            #expect(events == (try await Self.events(reference.log, project: project)))
            for (app, types) in events.enumerated() {
                let tokens = app % 10 == 9 || app % 15 == 7 ? 0 : app % 20 == 3 ? 2 : 1
                #expect(types == [.credentialsSet] + Array(repeating: .tokenIssued, count: tokens), "app \(app)")
            }
            #expect(log.appends == 200, "one credentials.set an app")
            #expect(log.mostAppending > 1, "appends of several apps reached the log together: its group commit commits them together")
            #expect(log.mostLocked > 1, "tokens of several apps were carried over at once")

            let (again, againLines) = try await Self.run(importer(subject), rows)
            #expect(!again.appended && log.appends == 200 && log.fencedAppends == referenceSummary.tokensCarried, "a second run appends nothing")
            #expect(!againLines.contains { $0.contains("registered the secret") || $0.contains("carried over its token") })
        }
    }

    @Test func aFailureOfTheLogStopsItAfterTheRowsDoneAndASecondRunGoesOnWithNothingTwice() async throws {
        let clock = TestClock()
        let log = FaultyLog(InMemoryEventLog(now: { clock.now }))
        let subject = try LedgerFixture(log: log, platforms: ["wechat": FakePlatform(secret: "S")], clock: clock)
        let reference = try LedgerFixture(platforms: ["wechat": FakePlatform(secret: "S")], clock: clock)
        let rows = Self.rows(project: "1", now: clock.now)
        let (_, referenceLines) = try await Self.run(Self.importer(reference, oneAtATime: true), rows)

        // The 61st credentials.set fails, in the second page, while other apps are being imported.
        log.failAppends(after: 60)
        let lines = LineCollector()
        await #expect(throws: LedgerError.self) {
            _ = try await Self.importer(subject).run(from: PighandRows(rows), report: { lines.append($0) })
        }
        #expect(lines.all.count >= 50 && lines.all.count < referenceLines.count, "the first page was done")
        #expect(referenceLines.starts(with: lines.all), "the rows done before the failure, reported in row order")

        log.failAppends(after: nil)
        let (again, _) = try await Self.run(Self.importer(subject), rows)
        #expect(again.appended)
        #expect(try await Self.events(subject.log, project: "1") == (try await Self.events(reference.log, project: "1")), "nothing twice")
    }
}
