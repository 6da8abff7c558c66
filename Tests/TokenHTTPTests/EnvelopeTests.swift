import Hummingbird
import HummingbirdTesting
import Testing
import TokenHTTP

/// Routes that are not the API's answer in the envelope, like every error.
struct EnvelopeTests {
    @Test func anUnknownRouteIsANotFoundEnvelope() async throws {
        let router = Router()
        router.add(middleware: EnvelopeErrorMiddleware())
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/nowhere", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body) == #"{"code":404,"data":null,"error":"no such route","errorCode":"not_found"}"#)
            }
        }
    }
}
