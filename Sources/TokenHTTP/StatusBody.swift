import TokenLedger

/// The `data` of `GET /token/…/status`: a stream's state, dates and today's budget, never its
/// token. Dates are ISO 8601 in UTC.
struct StatusBody: Encodable {
    struct Failure: Encodable {
        let code: String
        let at: String
    }

    struct Spent: Encodable {
        let used: Int
        let limit: Int?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(used, forKey: .used)
            try container.encode(limit, forKey: .limit)  // null when there is no budget
        }

        enum CodingKeys: String, CodingKey { case used, limit }
    }

    struct Budget: Encodable {
        let dayStart: String
        let resetsAt: String
        let calls: Spent
        let forced: Spent

        enum CodingKeys: String, CodingKey {
            case dayStart = "day_start"
            case resetsAt = "resets_at"
            case calls, forced
        }
    }

    let stream: String
    let state: String
    let version: Int64
    let position: Int64
    let issuedAt: String?
    let expiresAt: String?
    let staleAt: String?
    let nextRenewal: String?
    let lastFailure: Failure?
    let budget: Budget

    init(_ status: StreamStatus) {
        stream = status.stream.description
        state = status.state.rawValue
        version = status.version
        position = status.position
        issuedAt = status.issuedAt.map(AuditEntry.isoDate)
        expiresAt = status.expiresAt.map(AuditEntry.isoDate)
        staleAt = status.staleAt.map(AuditEntry.isoDate)
        nextRenewal = status.nextRenewal.map(AuditEntry.isoDate)
        lastFailure = status.lastFailure.map { Failure(code: $0.code, at: AuditEntry.isoDate($0.at)) }
        budget = Budget(
            dayStart: AuditEntry.isoDate(status.budget.dayStart),
            resetsAt: AuditEntry.isoDate(status.budget.resetsAt),
            calls: Spent(used: status.budget.calls, limit: status.budget.callLimit),
            forced: Spent(used: status.budget.forced, limit: status.budget.forcedLimit)
        )
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(stream, forKey: .stream)
        try container.encode(state, forKey: .state)
        try container.encode(version, forKey: .version)
        try container.encode(position, forKey: .position)
        // Unknown dates are null rather than absent, so that every field is always there.
        try container.encode(issuedAt, forKey: .issuedAt)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(staleAt, forKey: .staleAt)
        try container.encode(nextRenewal, forKey: .nextRenewal)
        try container.encode(lastFailure, forKey: .lastFailure)
        try container.encode(budget, forKey: .budget)
    }

    enum CodingKeys: String, CodingKey {
        case stream, state, version, position, budget
        case issuedAt = "issued_at"
        case expiresAt = "expires_at"
        case staleAt = "stale_at"
        case nextRenewal = "next_renewal"
        case lastFailure = "last_failure"
    }
}
