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

    @Test func sealedValuesOpenOnlyForTheirStreamFieldAndKnownKeys() throws {
        let sealer = try Sealer(current: "k1", keys: ["k1": Sealer.generateKey()])
        let sealed = try sealer.seal("secret-value", for: stream, as: .secret)
        #expect(!sealed.text.contains("secret-value"))
        #expect(sealed.text.hasPrefix("v2.k1."))
        #expect(sealed.keyID == "k1")
        #expect(try sealer.open(sealed, for: stream, as: .secret) == "secret-value")
        let other = try StreamID(project: "p", platform: "wechat", appid: "wx2")
        #expect(throws: LedgerError.self) { try sealer.open(sealed, for: other, as: .secret) }
        #expect(throws: LedgerError.self) { try sealer.open(sealed, for: stream, as: .token) }
        #expect(throws: LedgerError.self) { try sealer.open(sealed, for: stream, as: .refreshToken) }
        let stranger = try Sealer(current: "k1", keys: ["k1": Sealer.generateKey()])
        #expect(throws: LedgerError.self) { try stranger.open(sealed, for: stream, as: .secret) }
    }

    @Test func rotatedKeysStillOpenOldValues() throws {
        let old = Sealer.generateKey()
        let before = try Sealer(current: "k1", keys: ["k1": old])
        let sealed = try before.seal("t", for: stream, as: .token)
        let after = try Sealer(current: "k2", keys: ["k1": old, "k2": Sealer.generateKey()])
        #expect(try after.open(sealed, for: stream, as: .token) == "t")
        #expect(try after.seal("t", for: stream, as: .token).keyID == "k2")
    }

    /// Values sealed before fields were bound (`v1`, bound to the stream only): written by the
    /// previous release with the key `AAECAw…Hh8=` for `p/wechat/wx1`.
    static let oldKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    static let oldSecret = SealedValue(text: "v1.k1.JLXqMcZx6Zn/VUkHFOnlG3/l6DI/LQD64y/8MxjcEgOB/ZYhuvg=")
    static let oldToken = SealedValue(text: "v1.k1.0pJ1h8UM+u/GypJ13yeNAXbVBWIbkWRhvk/s01UR+u9nGn3nkA==")

    @Test func valuesSealedBeforeFieldsWereBoundStillOpen() throws {
        let sealer = try Sealer(current: "k2", keys: ["k1": Self.oldKey, "k2": Sealer.generateKey()])
        #expect(Self.oldSecret.keyID == "k1")
        #expect(try sealer.open(Self.oldSecret, for: stream, as: .secret) == "old-secret")
        #expect(try sealer.open(Self.oldToken, for: stream, as: .token) == "old-token")
        let other = try StreamID(project: "p", platform: "wechat", appid: "wx2")
        #expect(throws: LedgerError.self) { try sealer.open(Self.oldToken, for: other, as: .token) }
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
            recorded(try NewEvent(CredentialsSet(secret: try sealer.seal("s", for: stream, as: .secret)), metadata: metadata), 3, 1),
            recorded(try NewEvent(TokenIssued(token: try sealer.seal("tok", for: stream, as: .token), expiresAt: expires, reason: .miss, upstreamLatencyMs: 5), metadata: metadata), 7, 2),
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
        #expect(state.lastFailure?.platformCode == "-1" && state.lastFailure?.platformMessage == "busy", "the platform's own error is kept")
        #expect(state.lastRefresh?.reason == .miss && state.lastRefresh?.node == "n" && state.lastRefresh?.upstreamLatencyMs == 5)
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
                TokenIssued(token: try sealer.seal("tok\(position)", for: stream, as: .token), expiresAt: Date().addingTimeInterval(7200), reason: .miss, upstreamLatencyMs: 5),
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
            recorded(try NewEvent(CredentialsSet(secret: try before.seal("s", for: stream, as: .secret)), metadata: metadata), 1),
            recorded(try NewEvent(TokenIssued(token: try before.seal("tok", for: stream, as: .token), expiresAt: Date().addingTimeInterval(7200), reason: .miss, upstreamLatencyMs: 5), metadata: metadata), 2),
        ]
        var state = StreamState()
        for event in sealedByOldKey { state.apply(event, sealer: after) }
        #expect(state.unreadable)
        #expect(state.token == nil, "a token that does not open is never served")
        state.apply(recorded(try NewEvent(CredentialsSet(secret: try after.seal("s", for: stream, as: .secret)), metadata: metadata), 3), sealer: after)
        #expect(!state.unreadable)
        #expect(state.secret == "s")
        #expect(state.credentialsKeyID == "k2")
        #expect(state.token == nil, "fetched anew")
    }

    /// Whoever can write the log (but has no key) copies a sealed secret into a `token.issued`:
    /// it must not open as a token, so it is never served, projected or shown.
    @Test func aSecretMovedIntoATokenFieldIsUnreadableAndNeverServed() throws {
        let stream = try StreamID(project: "p", platform: "wechat", appid: "wx1")
        let sealer = try Sealer(current: "k", keys: ["k": Sealer.generateKey()])
        let metadata = EventMetadata(node: "n")
        func recorded(_ event: NewEvent, _ position: Int64) -> RecordedEvent {
            RecordedEvent(position: position, stream: stream, version: position, type: event.type, data: event.data, metadata: metadata, recordedAt: Date())
        }
        let secret = try sealer.seal("the-app-secret", for: stream, as: .secret)
        let expires = Date().addingTimeInterval(7200)
        let set = recorded(try NewEvent(CredentialsSet(secret: secret), metadata: metadata), 1)
        let issued = recorded(try NewEvent(TokenIssued(token: try sealer.seal("tok", for: stream, as: .token), expiresAt: expires, reason: .miss, upstreamLatencyMs: 1), metadata: metadata), 2)
        let forged = recorded(try NewEvent(TokenIssued(token: secret, expiresAt: expires, reason: .forced, upstreamLatencyMs: 1, refreshToken: secret), metadata: metadata), 3)
        let model = MemoryReadModel(sealer: sealer)
        model.apply([set, issued, forged])
        let state = try #require(model.state(of: stream))
        #expect(state.unreadable)
        #expect(state.token == nil, "neither the secret nor the older token is served")
        #expect(state.secret == "the-app-secret")
        var unopened: [Int64] = []
        let rows = ReadModelRow.rows(for: [issued, forged], sealer: sealer) { unopened.append($0.position) }
        #expect(unopened == [3])
        #expect(!rows.contains { $0.token == "the-app-secret" })
        #expect(AuditEntry(forged, sealer: sealer).token == "<unreadable>")
    }

    @Test func oldFormatValuesStillFoldIntoAStream() throws {
        let stream = try StreamID(project: "p", platform: "wechat", appid: "wx1")
        let sealer = try Sealer(current: "k1", keys: ["k1": SealerTests.oldKey])
        let metadata = EventMetadata(node: "n")
        func recorded(_ event: NewEvent, _ position: Int64) -> RecordedEvent {
            RecordedEvent(position: position, stream: stream, version: position, type: event.type, data: event.data, metadata: metadata, recordedAt: Date())
        }
        var state = StreamState()
        state.apply(recorded(try NewEvent(CredentialsSet(secret: SealerTests.oldSecret), metadata: metadata), 1), sealer: sealer)
        state.apply(recorded(try NewEvent(TokenIssued(token: SealerTests.oldToken, expiresAt: Date().addingTimeInterval(7200), reason: .miss, upstreamLatencyMs: 1), metadata: metadata), 2), sealer: sealer)
        #expect(!state.unreadable)
        #expect(state.secret == "old-secret")
        #expect(state.token?.value == "old-token")
    }

    @Test func auditEntriesMaskTokensAndHideSecrets() throws {
        let stream = try StreamID(project: "p", platform: "wechat", appid: "wx1")
        let sealer = try Sealer(current: "k", keys: ["k": Sealer.generateKey()])
        let token = "ABCD" + String(repeating: "x", count: 100) + "WXYZ"
        let issued = try NewEvent(TokenIssued(token: try sealer.seal(token, for: stream, as: .token), expiresAt: Date(), reason: .forced, upstreamLatencyMs: 1), metadata: EventMetadata(node: "n", requestID: "r1", actor: "key1"))
        let entry = AuditEntry(RecordedEvent(position: 1, stream: stream, version: 1, type: issued.type, data: issued.data, metadata: issued.metadata, recordedAt: Date()), sealer: sealer)
        #expect(entry.token == "ABCD…WXYZ")
        #expect(entry.reason == "forced")
        #expect(entry.requestID == "r1")
        let set = try NewEvent(CredentialsSet(secret: try sealer.seal("very-secret", for: stream, as: .secret)), metadata: EventMetadata(node: "n"))
        let setEntry = AuditEntry(RecordedEvent(position: 2, stream: stream, version: 2, type: set.type, data: set.data, metadata: set.metadata, recordedAt: Date()), sealer: sealer)
        #expect(setEntry.secret == "********")
    }
}
