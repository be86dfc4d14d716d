import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// TF Serving's model status (`GetModelStatus`, `GET /v1/models/{m}`): each
/// version's state, with an error status when it is not ready. Both APIs
/// build the same message; REST writes it as TF Serving's JSON.
public enum TFServingModelStatus {
    public static func message(_ versions: [ModelVersionState]) -> Tensorflow_Serving_GetModelStatusResponse {
        var response = Tensorflow_Serving_GetModelStatusResponse()
        response.modelVersionStatus = versions.map { version in
            var status = Tensorflow_Serving_ModelVersionStatus()
            status.version = version.version
            switch version.state {
            case .ready: status.state = .available
            case .loading: status.state = .loading
            case .unloading: status.state = .unloading
            // TF Serving reports a version that failed to load, or was unloaded, as END.
            case .unavailable: status.state = .end
            }
            if let error = version.error {
                status.status.errorCode = .unknown
                status.status.errorMessage = error
            }
            return status
        }
        return response
    }

    /// `{"model_version_status": [{"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}`
    /// (int64 as a string, as protobuf's JSON mapping writes it and TF Serving answers).
    public static func json(_ response: Tensorflow_Serving_GetModelStatusResponse) -> Data {
        var writer = JSONWriter()
        writer.object { object in
            object.member("model_version_status") { list in
                list.list(response.modelVersionStatus) { writer, status in
                    writer.object { object in
                        object.member("version") { $0.string(String(status.version)) }
                        object.member("state") { $0.string(stateName(status.state)) }
                        object.member("status") { writer in
                            writer.object { object in
                                object.member("error_code") { $0.string(codeName(status.status.errorCode)) }
                                object.member("error_message") { $0.string(status.status.errorMessage) }
                            }
                        }
                    }
                }
            }
        }
        return writer.data
    }

    private static func stateName(_ state: Tensorflow_Serving_ModelVersionStatus.State) -> String {
        switch state {
        case .start: "START"
        case .loading: "LOADING"
        case .available: "AVAILABLE"
        case .unloading: "UNLOADING"
        case .end: "END"
        default: "UNKNOWN"
        }
    }

    private static func codeName(_ code: Tensorflow_Serving_ErrorCode) -> String {
        switch code {
        case .ok: "OK"
        case .unknown: "UNKNOWN"
        default: String(describing: code).uppercased()
        }
    }
}
