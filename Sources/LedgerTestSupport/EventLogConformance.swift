import Foundation
import Synchronization
import Testing
public import TokenLedger

/// The guarantees every `EventLog` gives, checked the same way against each implementation.
public enum EventLogConformance {
    /// A small valid event.
    public static func event(node: String = "test") -> NewEvent {
        NewEvent(type: .refreshFailed, data: Data(#"{"code":"upstream_busy","reason":"miss"}"#.utf8), metadata: EventMetadata(node: node, requestID: "r"))
    }

    /// Ten writers race to write two events at version 0: exactly one wins, nothing partial is written.
    public static func conflictingAppendsLetExactlyOneWin(_ log: any EventLog, stream: StreamID) async throws {
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 {
                group.addTask { (try? await log.append([event(), event()], to: stream, expectedVersion: 0)) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        let versions = try await log.read(stream: stream, afterVersion: 0, limit: 100).map(\.version)
        #expect(versions == [1, 2])
        do {
            _ = try await log.append([event()], to: stream, expectedVersion: 1)
            Issue.record("a stale expected version was accepted")
        } catch let error as LedgerError {
            #expect(error.code == .versionConflict)
        }
    }

    /// Writers append concurrently (retrying on conflicts) while a follower reads by position: the
    /// follower sees every committed position exactly once, in order, and each stream's versions
    /// are 1…n with no gap.
    public static func followerUnderConcurrentAppendsSkipsNothing(_ log: any EventLog, streams: [StreamID], writers: Int, appendsEach: Int) async throws {
        let start = try await log.readAll(after: 0, limit: 1_000_000).last?.position ?? 0
        let done = Atomic<Bool>(false)
        let follower = Task { () -> [Int64] in
            var checkpoint = start
            var seen: [Int64] = []
            while true {
                let finished = done.load(ordering: .acquiring)
                let events = try await log.readAll(after: checkpoint, limit: 7)
                for event in events {
                    #expect(event.position > checkpoint)
                    checkpoint = event.position
                    seen.append(event.position)
                }
                if finished && events.isEmpty { return seen }
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for _ in 0..<appendsEach {
                        let stream = streams[writer % streams.count]
                        while true {
                            let version = try await log.read(stream: stream, afterVersion: 0, limit: 100_000).last?.version ?? 0
                            do {
                                _ = try await log.append([event(node: "w\(writer)")], to: stream, expectedVersion: version)
                                break
                            } catch let error as LedgerError where error.code == .versionConflict {
                                continue
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        done.store(true, ordering: .releasing)
        let seen = try await follower.value
        let all = try await log.readAll(after: start, limit: 1_000_000)
        #expect(seen == all.map(\.position), "the follower saw every committed position, in order")
        let ours = all.filter { streams.contains($0.stream) }
        #expect(ours.count == writers * appendsEach)
        for stream in streams {
            let versions = ours.filter { $0.stream == stream }.map(\.version)
            #expect(versions == (0..<Int64(versions.count)).map { $0 + 1 }, "versions are 1…n with no gap")
        }
    }

    /// Streams with every kind of history: `lastTokenEventPositions` names each stream's last
    /// token-deciding event after a position (a later credentials change or failure does not
    /// count; a stream without such an event is absent) and the head; `readEvents(at:)` gives back
    /// exactly the events at those positions, as `readAll` does.
    public static func lastTokenEventsAreEachStreamsLast(_ log: any EventLog, project: String) async throws {
        func stream(_ name: String) throws -> StreamID { try StreamID(project: project, platform: "wechat", appid: name) }
        let (twice, revoked, credentialsOnly, removed, late) = (try stream("twice"), try stream("revoked"), try stream("cred"), try stream("removed"), try stream("late"))
        func append(_ type: EventType, _ stream: StreamID) async throws -> RecordedEvent {
            let version = try await log.read(stream: stream, afterVersion: 0, limit: 100).last?.version ?? 0
            let data = Data(#"{"note":"conformance"}"#.utf8)
            return try await log.append([NewEvent(type: type, data: data, metadata: EventMetadata(node: "c"))], to: stream, expectedVersion: version)[0]
        }
        let start = try await log.lastTokenEventPositions(after: 0).head
        _ = try await append(.tokenIssued, twice)
        _ = try await append(.credentialsSet, credentialsOnly)
        _ = try await append(.tokenIssued, revoked)
        _ = try await append(.tokenIssued, removed)
        let mid = try await append(.refreshFailed, credentialsOnly).position
        let second = try await append(.tokenIssued, twice)
        let revoke = try await append(.tokenRevoked, revoked)
        _ = try await append(.credentialsSet, revoked)
        let remove = try await append(.credentialsRemoved, removed)
        let lateToken = try await append(.tokenIssued, late)
        let head = try await append(.refreshFailed, twice).position

        let ours: Set = [twice, revoked, credentialsOnly, removed, late]
        func mine(_ answer: (positions: [Int64], head: Int64)) async throws -> [Int64] {
            #expect(answer.head >= head, "the head covers every append")
            #expect(answer.positions == answer.positions.sorted(), "positions ascend")
            return try await log.readEvents(at: answer.positions).filter { ours.contains($0.stream) }.map(\.position)
        }
        let all = try await log.lastTokenEventPositions(after: start)
        #expect(try await mine(all) == [second.position, revoke.position, remove.position, lateToken.position])
        let afterMid = try await log.lastTokenEventPositions(after: mid)
        #expect(try await mine(afterMid) == [second.position, revoke.position, remove.position, lateToken.position])
        let afterRemove = try await log.lastTokenEventPositions(after: remove.position)
        #expect(try await mine(afterRemove) == [lateToken.position])
        #expect(try await log.lastTokenEventPositions(after: head + 1_000_000).head == head + 1_000_000, "a position past the head is its own head")

        let wanted = [second.position, remove.position, lateToken.position]
        let read = try await log.readEvents(at: wanted)
        let expected = try await log.readAll(after: start, limit: 1_000_000).filter { wanted.contains($0.position) }
        #expect(read == expected, "readEvents(at:) gives what readAll gives at those positions")
        #expect(try await log.readEvents(at: []).isEmpty)
        // Nearly every position of a span (a log may read such a page as a range).
        let most = try await log.readAll(after: start, limit: 1_000_000).enumerated().filter { $0.offset != 3 }.map(\.element)
        #expect(try await log.readEvents(at: most.map(\.position)) == most)
    }
}
