#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension FerryError {
    /// A file operation's failure in words ("Permission denied"). Without
    /// full Foundation, `localizedDescription` is not available and a
    /// `CocoaError` prints as its whole structure.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? CocoaError {
            if let underlying = error.userInfo["NSUnderlyingError"] as? POSIXError {
                return String(cString: strerror(underlying.code.rawValue))
            }
            switch error.code {
            case .fileNoSuchFile, .fileReadNoSuchFile: return String(cString: strerror(ENOENT))
            case .fileReadNoPermission, .fileWriteNoPermission: return String(cString: strerror(EACCES))
            case .fileWriteFileExists: return String(cString: strerror(EEXIST))
            case .fileWriteOutOfSpace: return String(cString: strerror(ENOSPC))
            default: return "file error \(error.code.rawValue)"
            }
        }
        if let error = error as? POSIXError { return String(cString: strerror(error.code.rawValue)) }
        if let error = error as? FerryError { return error.message }
        return String(describing: error)
    }
}
