import LedgerTestSupport
import Testing
import TokenLedger

/// The port's in-memory implementation keeps the same guarantees as the real logs.
struct InMemoryEventLogTests {
    @Test func conflictingAppendsLetExactlyOneWin() async throws {
        try await EventLogConformance.conflictingAppendsLetExactlyOneWin(InMemoryEventLog(), stream: try StreamID(project: "p", platform: "wechat", appid: "wx"))
    }

    @Test func followerUnderConcurrentAppendsSkipsNothing() async throws {
        let streams = try (0..<4).map { try StreamID(project: "p", platform: "wechat", appid: "wx\($0)") }
        try await EventLogConformance.followerUnderConcurrentAppendsSkipsNothing(InMemoryEventLog(), streams: streams, writers: 8, appendsEach: 20)
    }

    @Test func lastTokenEventsAreEachStreamsLast() async throws {
        try await EventLogConformance.lastTokenEventsAreEachStreamsLast(InMemoryEventLog(), project: "p")
    }
}
