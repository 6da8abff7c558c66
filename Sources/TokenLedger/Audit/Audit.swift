/// Answers audits from the log itself: the history of one stream and the global feed of events.
public struct Audit: Sendable {
    let log: any EventLog

    /// Creates the audit part over `log`.
    public init(log: any EventLog) {
        self.log = log
    }

    /// The events of one stream after `afterVersion`, at most `limit`.
    public func history(of stream: StreamID, afterVersion: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await log.read(stream: stream, afterVersion: afterVersion, limit: limit)
    }

    /// The global feed after `position`, filtered: up to `limit` events, scanning at most
    /// `scanLimit` so that a rare filter cannot make one call read the whole log. `next` is the
    /// position to pass as `after` for the following page.
    public func events(after position: Int64, limit: Int, filter: EventFilter, scanLimit: Int = 10_000) async throws -> (events: [RecordedEvent], next: Int64) {
        var cursor = position
        var found: [RecordedEvent] = []
        var scanned = 0
        while found.count < limit, scanned < scanLimit {
            let page = try await log.readAll(after: cursor, limit: min(1000, scanLimit - scanned))
            guard !page.isEmpty else { break }
            for event in page {
                cursor = event.position
                scanned += 1
                if filter.matches(event) {
                    found.append(event)
                    if found.count == limit { break }
                }
            }
        }
        return (found, cursor)
    }
}
