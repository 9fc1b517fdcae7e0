/// The version of this build of Tether: the coordinator, the CLI, the SDK and `openapi.yaml`'s
/// `info.version` (a test checks that one) all say this.
public enum TetherVersion {
    public static let current = "0.1.0"
}
