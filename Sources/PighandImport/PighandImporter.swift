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

    /// An importer into `ledger`; `dryRun` appends nothing; rows are read `pageSize` at a time.
    public init(ledger: Ledger, dryRun: Bool, pageSize: Int = 1000, now: @escaping @Sendable () -> Date = { Date() }) {
        credentials = ledger.credentials
        projector = ledger.projector
        self.dryRun = dryRun
        self.pageSize = pageSize
        self.now = now
    }

    /// Reads every row of `store`. `report` is told each row that appends (or would) or is
    /// skipped, `progress` the rows read so far and the total; returns the summary. A failure of
    /// the store or the log stops it (running it again picks up where it stopped: nothing twice).
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
            for row in page.rows {
                run.summary.rows += 1
                if let line = try await importRow(row, &run) { report("row \(row.id): \(line)") }
            }
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

    /// Imports one row; returns what to report about it, nil when it changes nothing.
    func importRow(_ row: PighandRow, _ run: inout Run) async throws -> String? {
        let checked: (stream: StreamID, secret: String, options: [String: String])
        switch Self.check(row) {
        case .failure(let refusal):
            run.summary.rowsSkipped[refusal.reason, default: ImportSummary.Rows()].add(row.id)
            return "skipped: \(refusal.description)"
        case .success(let value):
            checked = value
        }
        let stream = checked.stream
        if projector.model.state(of: stream)?.removed == true {
            run.summary.rowsSkipped["app removed from the ledger", default: ImportSummary.Rows()].add(row.id)
            return "skipped: \(stream) was removed from the ledger (credentials.removed): not brought back"
        }
        var said: [String] = []
        if let first = run.seen[stream] {
            guard first.secret == checked.secret else {
                run.summary.rowsSkipped["duplicate app with another secret", default: ImportSummary.Rows()].add(row.id)
                return "skipped: \(stream) is also row \(first.row), with another secret: kept row \(first.row)'s, not guessed"
            }
            said.append("duplicate of row \(first.row)")
        } else {
            run.seen[stream] = (row.id, checked.secret)
            let held = projector.model.state(of: stream)?.secret != nil
            if try await register(checked.secret, options: checked.options, for: stream) {
                run.summary.appsRegistered += 1
                // An app the ledger already knew with other credentials: pighand-token's replace them.
                said.append(
                    held
                        ? "\(dryRun ? "would change" : "changed") the secret or options of \(stream) (the ledger held others)"
                        : "\(dryRun ? "would register" : "registered") the secret of \(stream)"
                )
            } else {
                run.summary.appsUnchanged += 1
            }
        }
        if let line = try await carryToken(of: row, to: stream, &run) { said.append(line) }
        return said.isEmpty ? nil : said.joined(separator: "; ")
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

    /// Carries the row's token over, when it has a live one; what to report, nil when nothing is
    /// worth saying (the row had no token).
    private func carryToken(of row: PighandRow, to stream: StreamID, _ run: inout Run) async throws -> String? {
        guard let token = row.accessToken, !token.isEmpty else {
            run.summary.tokensLeft["without a token", default: ImportSummary.Rows()].add(row.id)
            return nil
        }
        guard let text = row.expiresTime, let seconds = Double(text) else {
            run.summary.tokensLeft["token without a valid expires_time", default: ImportSummary.Rows()].add(row.id)
            return "token not carried over: expires_time is \(row.expiresTime.map { "'\($0)'" } ?? "NULL")"
        }
        let expiresAt = Date(timeIntervalSince1970: seconds)
        let decision: TokenAdoption
        if dryRun {
            var state = projector.model.state(of: stream)
            if let planned = run.planned[stream] { state = state ?? StreamState(); state?.token = planned }
            decision = TokenAdoption.decide(token: token, expiresAt: expiresAt, state: state, now: now())
            if decision == .recorded { run.planned[stream] = CurrentToken(value: token, expiresAt: expiresAt, position: 0, issuedAt: now()) }
        } else {
            decision = try await credentials.adopt(token: token, expiresAt: expiresAt, for: stream, context: context)
        }
        let expiry = Self.iso(expiresAt)
        switch decision {
        case .recorded:
            run.summary.tokensCarried += 1
            return "\(dryRun ? "would carry" : "carried") over its token (expires \(expiry))"
        case .alreadyCurrent:
            run.summary.tokensAlreadyCurrent += 1
            return nil
        case .olderThanCurrent(let current):
            run.summary.tokensLeft["token older than the ledger's current one", default: ImportSummary.Rows()].add(row.id)
            return "token not carried over: it expires \(expiry), the ledger's current token \(Self.iso(current))"
        case .expired:
            run.summary.tokensLeft["expired token", default: ImportSummary.Rows()].add(row.id)
            return "token not carried over: it expired \(expiry)"
        }
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

    private static func iso(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
