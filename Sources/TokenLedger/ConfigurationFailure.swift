/// A configuration that cannot be used, with the reason: the one error a bad setting gives,
/// whichever layer (configuration, access control, wiring) finds it.
public struct ConfigurationFailure: Error, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// The message.
    public var description: String { message }

    /// A failure saying `message`.
    public init(message: String) {
        self.message = message
    }
}
