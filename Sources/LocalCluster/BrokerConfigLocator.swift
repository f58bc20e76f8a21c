import Foundation

/// Finds a file in `broker-config/` (or another folder of the repository): in
/// `$S2M3_BROKER_CONFIG_DIR`, else as ``RepositoryFile`` finds it.
public enum BrokerConfigLocator {
    public static func find(_ name: String, folder: String = "broker-config") throws -> String {
        if folder == "broker-config", let dir = ProcessInfo.processInfo.environment["S2M3_BROKER_CONFIG_DIR"],
           FileManager.default.fileExists(atPath: dir + "/" + name) {
            return dir + "/" + name
        }
        guard let path = RepositoryFile.find(folder + "/" + name) else {
            throw LocalClusterError(.configuration, "cannot find \(folder)/\(name); run from the S2M3 repository, or pass --broker-config or set S2M3_BROKER_CONFIG_DIR")
        }
        return path
    }
}
