extension PlatformError {
    /// What the caller is told when refreshing `stream` failed this way: the platform's words
    /// and what to do (never a secret or a token).
    func callerMessage(for stream: StreamID) -> String {
        let platformWords = platformCode.map { " (\(stream.platform) code \($0)\(platformMessage.map { ": \($0)" } ?? ""))" } ?? ""
        switch kind {
        case .credentialsRejected:
            return "\(stream.platform) rejected the credentials of \(stream.appid)\(platformWords); check the app id and secret"
        case .quotaExhausted:
            return "\(stream.platform) says the daily quota of \(stream.appid) is used up\(platformWords)"
        case .rateLimited:
            return "\(stream.platform) asks to call less often\(platformWords); retry in a minute"
        case .busy:
            return "\(stream.platform) is busy\(platformWords); retry shortly"
        case .unreachable:
            return "\(stream.platform) did not answer in time; retry shortly"
        case .malformedAnswer:
            return "\(stream.platform) answered something that is not a token\(platformWords)"
        case .refused:
            return "\(stream.platform) refused to issue a token\(platformWords)"
        }
    }
}
