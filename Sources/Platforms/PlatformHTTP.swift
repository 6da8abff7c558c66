import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TokenLedger

/// The HTTP exchange every platform client shares: a bounded request, 5xx and transport failures
/// turned into `PlatformError(.unreachable)`, the body returned as bytes.
struct PlatformHTTP: Sendable {
    let client: HTTPClient
    let timeout: Duration
    static let maxBody = 1 << 20

    func send(_ method: HTTPMethod, _ url: String, json: [String: Any]?, headers: [(String, String)] = []) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: data))
        }
        return try await send(request)
    }

    func send(_ request: HTTPClientRequest) async throws -> Data {
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let response: HTTPClientResponse
        var body: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .nanoseconds(nanoseconds))
            body = try await response.body.collect(upTo: Self.maxBody)
        } catch {
            throw PlatformError(.unreachable, platformMessage: "no answer: \(type(of: error))")
        }
        if response.status.code >= 500 {
            throw PlatformError(.unreachable, platformCode: "http \(response.status.code)")
        }
        return Data(body.readBytes(length: body.readableBytes) ?? [])
    }
}
