import HTTPTypes
import Hummingbird
import LedgerTestSupport
import Testing
import TokenHTTP
import TokenLedger

/// `/healthz` answers while the process runs; `/readyz` once the memory read model caught up.
struct ReadinessTests {
    @Test func notReadyUntilTheMemoryModelCaughtUp() async throws {
        let fixture = try HTTPFixture()
        try await fixture.test { client async throws in
            #expect(try await client.call(.get, "/healthz").text == #"{"code":200,"data":"ok","error":""}"#)
            let waiting = try await client.call(.get, "/readyz")
            #expect(waiting.text == #"{"code":503,"data":null,"error":"the memory read model is still catching up","errorCode":"not_ready"}"#)
            try await fixture.ledger.ledger.projector.catchUp()
            #expect(try await client.call(.get, "/readyz").text == #"{"code":200,"data":{"checkpoint":0},"error":""}"#)
        }
    }

    @Test func metricsAreServedOnlyWhenGiven() async throws {
        let without = try HTTPFixture()
        try await without.test { client async throws in
            #expect(try await client.call(.get, "/metrics").outcome == (404, "not_found"))
        }
        let with = try HTTPFixture(metrics: { Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "m 1\n"))) })
        try await with.test { client async throws in
            #expect(try await client.call(.get, "/metrics").text == "m 1\n")
        }
    }
}
