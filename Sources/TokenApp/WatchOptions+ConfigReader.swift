public import Configuration
import TokenLedger
public import TokenHTTP

extension WatchOptions {
    /// Reads `watch.*` from a reader scoped to `watch`: `heartbeat_ms` (positive), `max_watchers`
    /// (positive) and `max_seconds` (0: no bound).
    public init(reader: ConfigReader) throws {
        self.init()
        heartbeat = try reader.positiveMilliseconds("heartbeat_ms", in: "watch", default: heartbeat)
        maxWatchers = reader.int(forKey: "max_watchers", default: maxWatchers)
        guard maxWatchers > 0 else {
            throw ConfigurationFailure(message: "watch.max_watchers must be positive, is \(maxWatchers)")
        }
        let seconds = reader.int(forKey: "max_seconds", default: Int(maxDuration?.components.seconds ?? 0))
        guard seconds >= 0 else {
            throw ConfigurationFailure(message: "watch.max_seconds must be 0 (no bound) or positive, is \(seconds)")
        }
        maxDuration = seconds > 0 ? .seconds(seconds) : nil
    }
}
