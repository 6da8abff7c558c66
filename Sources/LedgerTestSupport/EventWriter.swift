#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import TokenLedger

/// Writes events straight to a log, behind any ledger's back: for tests of what folds the log
/// (webhooks) that need exact codes and times.
public enum EventWriter {
    /// The stream written to unless told otherwise.
    public static let stream = try! StreamID(parsing: "demo/wechat/wxfold")

    /// Appends one event of `payload` to `stream` on `log`, after the stream's last version.
    public static func append<Payload: EventPayload>(_ payload: Payload, to log: any EventLog, stream: StreamID = stream) async throws {
        let version = try await log.read(stream: stream, afterVersion: 0, limit: 10_000).last?.version ?? 0
        _ = try await log.append([try NewEvent(payload, metadata: EventMetadata(node: "test"))], to: stream, expectedVersion: version)
    }

    /// A `token.issued` whose token is not sealed with any key (nothing opens it).
    public static func issued() -> TokenIssued {
        TokenIssued(token: SealedValue(text: "v1:k1:sealed"), expiresAt: Date(timeIntervalSince1970: 1_800_000_000), reason: .scheduled, upstreamLatencyMs: 12)
    }

    /// A `token.refresh_failed` with `code`.
    public static func failed(_ code: LedgerError.Code) -> RefreshFailed {
        RefreshFailed(code: code.description, platformCode: "40001", platformMessage: "no", reason: .scheduled)
    }
}
