import Foundation
import Testing
import TokenLedger

struct StreamIDTests {
    @Test(arguments: ["", ".", "..", "a/b", "a b", "a\u{01}", "ä", String(repeating: "x", count: 129), "a%2F", "a?b"])
    func rejectsSegmentsThatAreNotPlainIds(_ segment: String) {
        #expect(throws: LedgerError.self) { try StreamID(project: segment, platform: "wechat", appid: "wx1") }
        #expect(throws: LedgerError.self) { try StreamID(project: "p", platform: "wechat", appid: segment) }
    }

    @Test(arguments: ["wx1234567890abcdef", "cli_a1b2", "ding-app.1", "corp:1000002", "a@b", String(repeating: "x", count: 128)])
    func acceptsPlatformIds(_ appid: String) throws {
        let stream = try StreamID(project: "demo", platform: "wechat", appid: appid)
        #expect(try StreamID(parsing: stream.description) == stream)
    }
}

struct SealerTests {
    let stream = try! StreamID(project: "p", platform: "wechat", appid: "wx1")

    @Test func sealedValuesOpenOnlyForTheirStreamAndKnownKeys() throws {
        let sealer = try Sealer(current: "k1", keys: ["k1": Sealer.generateKey()])
        let sealed = try sealer.seal("secret-value", for: stream)
        #expect(!sealed.text.contains("secret-value"))
        #expect(sealed.keyID == "k1")
        #expect(try sealer.open(sealed, for: stream) == "secret-value")
        let other = try StreamID(project: "p", platform: "wechat", appid: "wx2")
        #expect(throws: LedgerError.self) { try sealer.open(sealed, for: other) }
        let stranger = try Sealer(current: "k1", keys: ["k1": Sealer.generateKey()])
        #expect(throws: LedgerError.self) { try stranger.open(sealed, for: stream) }
    }

    @Test func rotatedKeysStillOpenOldValues() throws {
        let old = Sealer.generateKey()
        let before = try Sealer(current: "k1", keys: ["k1": old])
        let sealed = try before.seal("t", for: stream)
        let after = try Sealer(current: "k2", keys: ["k1": old, "k2": Sealer.generateKey()])
        #expect(try after.open(sealed, for: stream) == "t")
        #expect(try after.seal("t", for: stream).keyID == "k2")
    }

    @Test func rejectsKeysOfTheWrongSize() {
        #expect(throws: LedgerError.self) { try Sealer(current: "k", keys: ["k": Data([1, 2, 3]).base64EncodedString()]) }
        #expect(throws: LedgerError.self) { try Sealer(current: "k", keys: ["k": "not base64!"]) }
    }
}

struct FreshnessTests {
    @Test func aTokenIsFreshUntilTheEarlyMarginAndValidUntilExpiry() {
        let freshness = Freshness(earlySeconds: 300)
        let expires = Date(timeIntervalSince1970: 10_000)
        let token = CurrentToken(value: "t", expiresAt: expires, position: 1, issuedAt: Date(timeIntervalSince1970: 2_800))
        #expect(freshness.isFresh(token, platform: "wechat", now: Date(timeIntervalSince1970: 9_699)))
        #expect(!freshness.isFresh(token, platform: "wechat", now: Date(timeIntervalSince1970: 9_700)))
        #expect(freshness.isFresh(expiresAt: expires, platform: "wechat", now: Date(timeIntervalSince1970: 9_699)))
        #expect(!freshness.isFresh(expiresAt: expires, platform: "wechat", now: Date(timeIntervalSince1970: 9_700)))
        #expect(freshness.isStillValid(expiresAt: expires, now: Date(timeIntervalSince1970: 9_999)))
        #expect(!freshness.isStillValid(expiresAt: expires, now: Date(timeIntervalSince1970: 10_000)))
    }

    @Test func theMarginIsAtMostAFractionOfAShortTokensLifeAndSettablePerPlatform() {
        let freshness = Freshness(earlySeconds: 300, earlySecondsByPlatform: ["feishu": 1800], maxFraction: 0.2)
        // A 300-second OAuth2 token: 60 s of margin, not 300 (which would make it never fresh).
        let short = CurrentToken(value: "t", expiresAt: Date(timeIntervalSince1970: 1_300), position: 1, issuedAt: Date(timeIntervalSince1970: 1_000))
        #expect(freshness.margin(of: short, platform: "oauth2") == 60)
        #expect(freshness.isFresh(short, platform: "oauth2", now: Date(timeIntervalSince1970: 1_239)))
        #expect(!freshness.isFresh(short, platform: "oauth2", now: Date(timeIntervalSince1970: 1_240)))
        // A two-hour token keeps the full setting; Feishu's own is longer.
        let long = CurrentToken(value: "t", expiresAt: Date(timeIntervalSince1970: 8_200), position: 1, issuedAt: Date(timeIntervalSince1970: 1_000))
        #expect(freshness.margin(of: long, platform: "wechat") == 300)
        #expect(freshness.margin(of: long, platform: "feishu") == 1_440)
        #expect(freshness.margin(platform: "feishu", life: nil) == 1_800)
    }
}

struct StreamStateTests {
    @Test func foldsEventsIdempotently() throws {
        let stream = try StreamID(project: "p", platform: "wechat", appid: "wx1")
        let sealer = try Sealer(current: "k", keys: ["k": Sealer.generateKey()])
        let metadata = EventMetadata(node: "n")
        func recorded(_ event: NewEvent, _ position: Int64, _ version: Int64) -> RecordedEvent {
            RecordedEvent(position: position, stream: stream, version: version, type: event.type, data: event.data, metadata: metadata, recordedAt: Date())
        }
        let expires = Date(timeIntervalSince1970: 2_000_000_000)
        let events = [
            recorded(try NewEvent(CredentialsSet(secret: try sealer.seal("s", for: stream)), metadata: metadata), 3, 1),
            recorded(try NewEvent(TokenIssued(token: try sealer.seal("tok", for: stream), expiresAt: expires, reason: .miss, upstreamLatencyMs: 5), metadata: metadata), 7, 2),
            recorded(try NewEvent(RefreshFailed(code: "upstream_busy", platformCode: "-1", platformMessage: "busy", reason: .scheduled), metadata: metadata), 9, 3),
        ]
        let model = MemoryReadModel(sealer: sealer)
        model.apply(events)
        model.apply(events)
        let state = try #require(model.state(of: stream))
        #expect(state.version == 3)
        #expect(state.secret == "s")
        #expect(state.token?.value == "tok")
        #expect(state.token?.position == 7)
        #expect(state.lastFailure?.code == "upstream_busy")
        #expect(model.checkpoint == 9)
        let revoked = recorded(try NewEvent(TokenRevoked(reason: "leaked"), metadata: metadata), 12, 4)
        model.apply([revoked])
        #expect(model.state(of: stream)?.token == nil)
    }

    @Test func aTokenEventThatCannotBeReadClearsTheTokenInMemoryAndInTheStoresRows() throws {
        let stream = try StreamID(project: "p", platform: "wechat", appid: "wx1")
        let sealer = try Sealer(current: "k1", keys: ["k1": Sealer.generateKey()])
        let gone = try Sealer(current: "k0", keys: ["k0": Sealer.generateKey()])
        let metadata = EventMetadata(node: "n")
        func issued(_ sealer: Sealer, _ position: Int64) throws -> RecordedEvent {
            let event = try NewEvent(
                TokenIssued(token: try sealer.seal("tok\(position)", for: stream), expiresAt: Date().addingTimeInterval(7200), reason: .miss, upstreamLatencyMs: 5),
                metadata: metadata
            )
            return RecordedEvent(position: position, stream: stream, version: position, type: event.type, data: event.data, metadata: metadata, recordedAt: Date())
        }
        var corrupt = try issued(sealer, 3)
        corrupt.data = Data("{}".utf8)
        for unreadable in [try issued(gone, 2), corrupt] {
            let events = [try issued(sealer, 1), unreadable]
            var state = StreamState()
            for event in events { state.apply(event, sealer: sealer) }
            #expect(state.token == nil)
            var reported: [Int64] = []
            let rows = ReadModelRow.rows(for: events, sealer: sealer) { reported.append($0.position) }
            #expect(rows == [ReadModelRow(stream: stream, token: nil, expiresAt: nil, position: unreadable.position)])
            #expect(reported == [unreadable.position])
        }
    }

    @Test func credentialsThatOpenReestablishAStreamWhoseOlderEventsDoNot() throws {
        let stream = try StreamID(project: "p", platform: "wechat", appid: "wx1")
        let (old, new) = (Sealer.generateKey(), Sealer.generateKey())
        let before = try Sealer(current: "k1", keys: ["k1": old])
        let after = try Sealer(current: "k2", keys: ["k2": new])
        let metadata = EventMetadata(node: "n")
        func recorded(_ event: NewEvent, _ position: Int64) -> RecordedEvent {
            RecordedEvent(position: position, stream: stream, version: position, type: event.type, data: event.data, metadata: metadata, recordedAt: Date())
        }
        let sealedByOldKey = [
            recorded(try NewEvent(CredentialsSet(secret: try before.seal("s", for: stream)), metadata: metadata), 1),
            recorded(try NewEvent(TokenIssued(token: try before.seal("tok", for: stream), expiresAt: Date().addingTimeInterval(7200), reason: .miss, upstreamLatencyMs: 5), metadata: metadata), 2),
        ]
        var state = StreamState()
        for event in sealedByOldKey { state.apply(event, sealer: after) }
        #expect(state.unreadable)
        #expect(state.token == nil, "a token that does not open is never served")
        state.apply(recorded(try NewEvent(CredentialsSet(secret: try after.seal("s", for: stream)), metadata: metadata), 3), sealer: after)
        #expect(!state.unreadable)
        #expect(state.secret == "s")
        #expect(state.credentialsKeyID == "k2")
        #expect(state.token == nil, "fetched anew")
    }

    @Test func auditEntriesMaskTokensAndHideSecrets() throws {
        let stream = try StreamID(project: "p", platform: "wechat", appid: "wx1")
        let sealer = try Sealer(current: "k", keys: ["k": Sealer.generateKey()])
        let token = "ABCD" + String(repeating: "x", count: 100) + "WXYZ"
        let issued = try NewEvent(TokenIssued(token: try sealer.seal(token, for: stream), expiresAt: Date(), reason: .forced, upstreamLatencyMs: 1), metadata: EventMetadata(node: "n", requestID: "r1", actor: "key1"))
        let entry = AuditEntry(RecordedEvent(position: 1, stream: stream, version: 1, type: issued.type, data: issued.data, metadata: issued.metadata, recordedAt: Date()), sealer: sealer)
        #expect(entry.token == "ABCD…WXYZ")
        #expect(entry.reason == "forced")
        #expect(entry.requestID == "r1")
        let set = try NewEvent(CredentialsSet(secret: try sealer.seal("very-secret", for: stream)), metadata: EventMetadata(node: "n"))
        let setEntry = AuditEntry(RecordedEvent(position: 2, stream: stream, version: 2, type: set.type, data: set.data, metadata: set.metadata, recordedAt: Date()), sealer: sealer)
        #expect(setEntry.secret == "********")
    }
}
