#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// One POST of a delivery.
public struct WebhookRequest: Sendable {
    /// The subscription's id (for the URL's name in errors).
    public var webhook: String
    /// Where.
    public var url: String
    /// `Content-Type`, `X-TokenLedger-Delivery`, `X-TokenLedger-Event`, `X-TokenLedger-Signature`.
    public var headers: [(name: String, value: String)]
    /// The JSON body.
    public var body: Data

    /// Creates a request.
    public init(webhook: String, url: String, headers: [(name: String, value: String)], body: Data) {
        self.webhook = webhook
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// Posts deliveries (over HTTP, with the address rules of token URLs and no redirects followed).
public protocol WebhookSender: Sendable {
    /// Posts `request` and returns the receiver's status; throws when no answer came.
    func send(_ request: WebhookRequest) async throws -> Int
}
