import ArgumentParser
import TokenApp
import TokenHTTP

/// `tokenledger key new`: a new API key and the `auth.keys` entry that holds its hash.
struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "key", abstract: "Manage API keys.", subcommands: [New.self])

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new API key (shown once) and its auth.keys entry.")

        @Option(help: "The key's name in events and logs.") var id: String
        @Option(help: "read, refresh, admin; repeatable.") var scope: [String] = ["read"]
        @Option(help: "A project the key may use; repeatable; none means every project.") var project: [String] = []

        func run() throws {
            var scopes: [AccessControl.Scope] = []
            for name in scope {
                guard let value = AccessControl.Scope(rawValue: name) else { throw ValidationError("unknown scope \(name): read, refresh or admin") }
                scopes.append(value)
            }
            let (key, entry) = AccessControl.newKey(id: id, scopes: scopes, projects: project)
            print("key (give it to the caller; it is not stored): \(key)")
            print("auth.keys entry (configuration holds only the hash): \(entry)")
        }
    }
}
