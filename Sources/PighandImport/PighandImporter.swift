#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import TokenLedger

/// Imports pighand-token's apps and the tokens it is handing out into the ledger, so that a switch
/// kills no token: for each row a `credentials.set` (`Credentials.register`, never tried with the
/// platform) and, while its token lives, a `token.issued` with reason `imported`
/// (`Credentials.adopt`). No platform is called. Running it again appends nothing; a dry run
/// decides the same way from the ledger's state and appends nothing.
public struct PighandImporter: Sendable {
    private let credentials: Credentials
    private let projector: Projector
    private let dryRun: Bool
    private let pageSize: Int
    private let now: @Sendable () -> Date
    private let context = CallContext(actor: "import")
    /// How many apps of a page are imported at once (1: one row after the other).
    var appsAtOnce = Self.appsAtOnce

    /// How many apps are imported at once, so that the log commits their appends together (group commit).
    static let appsAtOnce = 16

    /// An importer into `ledger`; `dryRun` appends nothing; rows are read `pageSize` at a time.
    public init(ledger: Ledger, dryRun: Bool, pageSize: Int = 1000, now: @escaping @Sendable () -> Date = { Date() }) {
        credentials = ledger.credentials
        projector = ledger.projector
        self.dryRun = dryRun
        self.pageSize = pageSize
        self.now = now
    }

    /// Reads every row of `store`. `report` is told each row that appends (or would) or is
    /// skipped, in row order, `progress` the rows read so far and the total; returns the summary. A
    /// failure of the store or the log stops it (running it again picks up where it stopped:
    /// nothing twice).
    public func run(
        from store: any PighandStore,
        report: @Sendable (String) -> Void,
        progress: @Sendable (_ read: Int, _ total: Int?) -> Void = { _, _ in }
    ) async throws -> ImportSummary {
        try await projector.catchUp()
        let total = try await store.count()
        var run = Run()
        var cursor: String?
        repeat {
            let page = try await store.rows(after: cursor, limit: pageSize)
            try await importPage(page.rows, &run, report: report)
            progress(run.summary.rows, total)
            cursor = page.next
        } while cursor != nil
        return run.summary
    }

    /// What one run remembers between rows: the summary, the first row of each stream (duplicates),
    /// and in a dry run the tokens it would have carried over.
    struct Run {
        var summary = ImportSummary()
        var seen: [StreamID: (row: String, secret: String)] = [:]
        var planned: [StreamID: CurrentToken] = [:]
    }

    /// The app rows of one stream in a page, in row order (their index in the page), done one
    /// after the other; in a dry run with the token an earlier row would have carried over.
    struct StreamRows: Sendable {
        var stream: StreamID
        var rows: [(index: Int, app: RowPlan.App)] = []
        var planned: CurrentToken?
    }

    /// What was done for the rows of one stream: up to the first that failed.
    struct StreamDone: Sendable {
        var stream: StreamID
        var outcomes: [(index: Int, outcome: RowPlan.Outcome)] = []
        var planned: CurrentToken?
        var failure: (index: Int, error: any Error)?
    }

    /// Imports one page. What each row asks for is decided in row order (duplicates); the rows of
    /// up to `appsAtOnce` apps are then done at once, each app's rows in row order; then each row is
    /// counted and reported in row order. A failure reports the rows before the first one not done,
    /// then throws: what was appended stays, and a second run decides again from the ledger.
    func importPage(_ rows: [PighandRow], _ run: inout Run, report: (String) -> Void) async throws {
        let plans = rows.map { plan($0, &run) }
        var slots: [StreamID: Int] = [:]
        var work: [StreamRows] = []
        for (index, plan) in plans.enumerated() {
            guard case .app(let app) = plan else { continue }
            let slot = slots[app.stream] ?? work.count
            if slot == work.count {
                slots[app.stream] = slot
                work.append(StreamRows(stream: app.stream, planned: run.planned[app.stream]))
            }
            work[slot].rows.append((index, app))
        }
        var outcomes = [RowPlan.Outcome?](repeating: nil, count: rows.count)
        var failure: (index: Int, error: any Error)?
        await withTaskGroup(of: StreamDone.self) { group in
            var next = 0
            func start() {
                guard next < work.count, failure == nil else { return }
                let app = work[next]
                next += 1
                group.addTask { await self.importRows(app) }
            }
            for _ in 0..<max(1, appsAtOnce) { start() }
            while let done = await group.next() {
                for (index, outcome) in done.outcomes { outcomes[index] = outcome }
                if let planned = done.planned { run.planned[done.stream] = planned }
                if let failed = done.failure, failed.index < failure?.index ?? Int.max { failure = failed }
                start()
            }
        }
        for (index, (row, plan)) in zip(rows, plans).enumerated() {
            let outcome: RowPlan.Outcome
            switch (plan, outcomes[index]) {
            case (.app, nil):
                // The first row not done: it and the rows after it are decided again by the next run.
                throw failure?.error ?? CancellationError()
            case (_, let done):
                outcome = done ?? RowPlan.Outcome()
            }
            run.summary.rows += 1
            if let line = plan.tally(id: row.id, outcome, into: &run.summary, dryRun: dryRun) { report("row \(row.id): \(line)") }
        }
    }

    /// What `row` asks for, from the ledger's state and the rows before it.
    func plan(_ row: PighandRow, _ run: inout Run) -> RowPlan {
        let checked: (stream: StreamID, secret: String, options: [String: String])
        switch Self.check(row) {
        case .failure(let refusal):
            return .skipped(reason: refusal.reason, line: "skipped: \(refusal.description)")
        case .success(let value):
            checked = value
        }
        let stream = checked.stream
        if projector.model.state(of: stream)?.removed == true {
            return .skipped(
                reason: "app removed from the ledger", line: "skipped: \(stream) was removed from the ledger (credentials.removed): not brought back"
            )
        }
        var duplicateOf: String?
        if let first = run.seen[stream] {
            guard first.secret == checked.secret else {
                return .skipped(
                    reason: "duplicate app with another secret",
                    line: "skipped: \(stream) is also row \(first.row), with another secret: kept row \(first.row)'s, not guessed"
                )
            }
            duplicateOf = first.row
        } else {
            run.seen[stream] = (row.id, checked.secret)
        }
        return .app(RowPlan.App(stream: stream, secret: checked.secret, options: checked.options, duplicateOf: duplicateOf, token: Self.token(of: row)))
    }

    /// The row's token to carry over, or why there is none.
    static func token(of row: PighandRow) -> RowPlan.TokenPlan {
        guard let token = row.accessToken, !token.isEmpty else { return .left(reason: "without a token", line: nil) }
        guard let text = row.expiresTime, let seconds = Double(text) else {
            return .left(
                reason: "token without a valid expires_time",
                line: "token not carried over: expires_time is \(row.expiresTime.map { "'\($0)'" } ?? "NULL")"
            )
        }
        return .carry(token: token, expiresAt: Date(timeIntervalSince1970: seconds))
    }

    /// Does the rows of one app in row order, up to the first that fails.
    private func importRows(_ work: StreamRows) async -> StreamDone {
        var done = StreamDone(stream: work.stream, planned: work.planned)
        for (index, app) in work.rows {
            do {
                var outcome = RowPlan.Outcome()
                if app.duplicateOf == nil {
                    outcome.held = projector.model.state(of: app.stream)?.secret != nil
                    outcome.registered = try await register(app.secret, options: app.options, for: app.stream)
                }
                if case .carry(let token, let expiresAt) = app.token {
                    outcome.adoption = try await adopt(token, expiresAt: expiresAt, for: app.stream, planned: &done.planned)
                }
                done.outcomes.append((index, outcome))
            } catch {
                done.failure = (index, error)
                break
            }
        }
        return done
    }

    /// Registers the secret (never tried with the platform: it is the one in use); whether a
    /// `credentials.set` was (or would be) appended.
    private func register(_ secret: String, options: [String: String], for stream: StreamID) async throws -> Bool {
        let change = CredentialChange.register(options: options)
        guard credentials.wouldChange(secret: secret, change, for: stream) else { return false }
        if dryRun { return true }
        let before = projector.model.state(of: stream)?.position ?? 0
        try await credentials.register(secret: secret, change, verify: false, for: stream, context: context)
        return (projector.model.state(of: stream)?.position ?? 0) > before
    }

    /// Carries a token over, or in a dry run decides as it would against the ledger's state and
    /// the token an earlier row would have carried over (`planned`).
    private func adopt(_ token: String, expiresAt: Date, for stream: StreamID, planned: inout CurrentToken?) async throws -> TokenAdoption {
        guard dryRun else { return try await credentials.adopt(token: token, expiresAt: expiresAt, for: stream, context: context) }
        var state = projector.model.state(of: stream)
        if let planned { state = state ?? StreamState(); state?.token = planned }
        let decision = TokenAdoption.decide(token: token, expiresAt: expiresAt, state: state, now: now())
        if decision == .recorded { planned = CurrentToken(value: token, expiresAt: expiresAt, position: 0, issuedAt: now()) }
        return decision
    }

    /// The row's stream, secret and options, or why the row cannot be imported.
    static func check(_ row: PighandRow) -> Result<(stream: StreamID, secret: String, options: [String: String]), RowRefusal> {
        guard let name = row.platform, !name.isEmpty else { return .failure(RowRefusal("no platform", "platform is empty")) }
        let target: PighandPlatform.Target
        switch PighandPlatform.target(of: name) {
        case .success(let value): target = value
        case .failure(let refusal): return .failure(RowRefusal("unsupported or unknown platform", refusal.description))
        }
        let stream: StreamID
        do {
            stream = try StreamID(project: row.projectID ?? "", platform: target.platform, appid: row.appid ?? "")
        } catch {
            return .failure(RowRefusal("invalid id", "\(error.message) (project_id \(Self.quoted(row.projectID)), appid \(Self.quoted(row.appid)))"))
        }
        guard let secret = row.secret, !secret.isEmpty, secret.utf8.count <= 8192 else {
            return .failure(RowRefusal("no secret", "\(stream) has no secret"))
        }
        return .success((stream, secret, target.options))
    }

    /// Why a row is skipped: a reason to count rows by, and what to tell about this one.
    struct RowRefusal: Error, CustomStringConvertible {
        var reason: String
        var description: String

        init(_ reason: String, _ description: String) {
            self.reason = reason
            self.description = description
        }
    }

    private static func quoted(_ text: String?) -> String {
        guard let text else { return "NULL" }
        return "'\(text.prefix(64))'"
    }
}
