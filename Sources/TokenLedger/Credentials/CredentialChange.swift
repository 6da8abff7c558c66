/// The kind of change a `credentials.set` makes to a stream's credentials.
public enum CredentialChange: Sendable, Equatable {
    /// Registers or rotates the secret; options given replace the registered ones, none keep them
    /// (`?secret=` on a read, an app declared in configuration).
    case register(options: [String: String])
    /// Sets the secret and the options exactly as given: empty options clear them (`PUT .../credentials`).
    case replace(options: [String: String])
    /// Rewrites the secret and options under the current key even if nothing else changes (key rotation).
    case reseal(options: [String: String])

    /// The options the stream will hold, given those registered now.
    func options(registered: [String: String]) -> [String: String] {
        switch self {
        case .register(let options): options.isEmpty ? registered : options
        case .replace(let options), .reseal(let options): options
        }
    }

    /// Whether a secret sealed with an older key (or not bound to its field) is rewritten even
    /// when nothing else changes.
    var reseals: Bool {
        if case .reseal = self { return true }
        return false
    }
}
