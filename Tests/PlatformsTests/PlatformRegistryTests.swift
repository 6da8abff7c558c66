import Platforms
import Testing

/// `PlatformRegistry.names` is the one list of platforms: configuration reads
/// `platforms.<name>.*` for exactly the platforms the registry builds.
struct PlatformRegistryTests {
    @Test func theListOfNamesIsThePlatformsBuilt() {
        let built = PlatformRegistry.make(baseURLs: [:], httpClient: PlatformRegistry.httpClient, timeout: .seconds(1))
        #expect(Set(built.keys) == Set(PlatformRegistry.names))
        #expect(Set(PlatformRegistry.names).count == PlatformRegistry.names.count)
    }
}
