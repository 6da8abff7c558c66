#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import Synchronization

/// The event log in memory: the port's reference implementation, for domain tests and benchmarks
/// that need no server. Nothing survives the process.
public final class InMemoryEventLog: EventLog {
    private struct Contents {
        var events: [RecordedEvent] = []
        var versions: [StreamID: Int64] = [:]
    }

    private let contents = Mutex(Contents())
    private let refreshLocks = StreamLocks()
    private let wakeUps = WakeUps()
    private let now: @Sendable () -> Date

    /// An empty log that records events at the time `now` gives (a test's clock, so that what is
    /// planned from recording times follows it).
    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    public func append(_ events: [NewEvent], to stream: StreamID, expectedVersion: Int64) async throws -> [RecordedEvent] {
        let recorded = try contents.withLock { contents throws(LedgerError) -> [RecordedEvent] in
            let current = contents.versions[stream] ?? 0
            guard current == expectedVersion else {
                throw LedgerError(.versionConflict, "\(stream) is at version \(current), not \(expectedVersion)")
            }
            var recorded: [RecordedEvent] = []
            for (offset, event) in events.enumerated() {
                let position = Int64(contents.events.count + 1)
                let version = expectedVersion + Int64(offset) + 1
                let entry = RecordedEvent(
                    position: position, stream: stream, version: version, type: event.type,
                    data: event.data, metadata: event.metadata, recordedAt: now()
                )
                contents.events.append(entry)
                recorded.append(entry)
            }
            contents.versions[stream] = expectedVersion + Int64(events.count)
            return recorded
        }
        wakeUps.wakeAll()
        return recorded
    }

    public func read(stream: StreamID, afterVersion: Int64, limit: Int) async throws -> [RecordedEvent] {
        contents.withLock { contents in
            Array(contents.events.lazy.filter { $0.stream == stream && $0.version > afterVersion }.prefix(limit))
        }
    }

    public func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        contents.withLock { contents in
            // Positions are 1…n with no holes here, so the index of position p is p - 1.
            let start = Int(max(position, 0))
            guard start < contents.events.count else { return [] }
            return Array(contents.events[start..<min(contents.events.count, start + limit)])
        }
    }

    public func withRefreshLock<T: Sendable>(on stream: StreamID, _ body: @Sendable (any RefreshFence) async throws -> T) async throws -> T {
        try await refreshLocks.withLock(on: stream) { try await body(InProcessFence(log: self)) }
    }

    /// Streams whose in-process refresh lock is held or awaited.
    public var heldRefreshLocks: Int { refreshLocks.count }

    public func listen(_ wake: @escaping @Sendable () -> Void) async throws {
        try await wakeUps.listen(wake)
    }
}
