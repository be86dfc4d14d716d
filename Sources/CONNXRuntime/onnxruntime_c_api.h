// The part of the ONNX Runtime C API (onnxruntime_c_api.h, API version 31)
// that Ferry calls, declared here from the public API documentation.
//
// OrtApi is a struct of function pointers that ONNX Runtime only ever appends
// to, so a slot's index is part of the ABI. Slots Ferry does not call are
// `void *` placeholders; the static assertions at the end fail the build if
// any declared slot drifts from its documented index.
#ifndef FERRY_ONNXRUNTIME_C_API_H
#define FERRY_ONNXRUNTIME_C_API_H

#include <stddef.h>
#include <stdint.h>

#define FERRY_ORT_API_VERSION 31

typedef struct OrtEnv OrtEnv;
typedef struct OrtStatus OrtStatus;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtSession OrtSession;
typedef struct OrtValue OrtValue;
typedef struct OrtRunOptions OrtRunOptions;
typedef struct OrtTypeInfo OrtTypeInfo;
typedef struct OrtTensorTypeAndShapeInfo OrtTensorTypeAndShapeInfo;
typedef struct OrtMapTypeInfo OrtMapTypeInfo;
typedef struct OrtSequenceTypeInfo OrtSequenceTypeInfo;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtModelMetadata OrtModelMetadata;
typedef struct OrtAllocator OrtAllocator;
typedef struct OrtThreadingOptions OrtThreadingOptions;
// Opaque: filled through Update…ProviderOptions with ONNX Runtime's own key names.
typedef struct OrtCUDAProviderOptionsV2 OrtCUDAProviderOptionsV2;
typedef struct OrtTensorRTProviderOptionsV2 OrtTensorRTProviderOptionsV2;

typedef enum ONNXTensorElementDataType {
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED = 0,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT = 1,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 = 2,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8 = 3,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16 = 4,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16 = 5,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 = 6,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 = 7,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING = 8,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL = 9,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 = 10,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE = 11,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32 = 12,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64 = 13,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_COMPLEX64 = 14,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_COMPLEX128 = 15,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16 = 16
} ONNXTensorElementDataType;

typedef enum ONNXType {
  ONNX_TYPE_UNKNOWN = 0,
  ONNX_TYPE_TENSOR = 1,
  ONNX_TYPE_SEQUENCE = 2,
  ONNX_TYPE_MAP = 3,
  ONNX_TYPE_OPAQUE = 4,
  ONNX_TYPE_SPARSETENSOR = 5,
  ONNX_TYPE_OPTIONAL = 6
} ONNXType;

typedef enum OrtLoggingLevel {
  ORT_LOGGING_LEVEL_VERBOSE = 0,
  ORT_LOGGING_LEVEL_INFO = 1,
  ORT_LOGGING_LEVEL_WARNING = 2,
  ORT_LOGGING_LEVEL_ERROR = 3,
  ORT_LOGGING_LEVEL_FATAL = 4
} OrtLoggingLevel;

typedef enum OrtErrorCode {
  ORT_OK = 0,
  ORT_FAIL = 1,
  ORT_INVALID_ARGUMENT = 2,
  ORT_NO_SUCHFILE = 3,
  ORT_NO_MODEL = 4,
  ORT_ENGINE_ERROR = 5,
  ORT_RUNTIME_EXCEPTION = 6,
  ORT_INVALID_PROTOBUF = 7,
  ORT_MODEL_LOADED = 8,
  ORT_NOT_IMPLEMENTED = 9,
  ORT_INVALID_GRAPH = 10,
  ORT_EP_FAIL = 11
} OrtErrorCode;

typedef enum GraphOptimizationLevel {
  ORT_DISABLE_ALL = 0,
  ORT_ENABLE_BASIC = 1,
  ORT_ENABLE_EXTENDED = 2,
  ORT_ENABLE_LAYOUT = 3,
  ORT_ENABLE_ALL = 99
} GraphOptimizationLevel;

typedef enum ExecutionMode {
  ORT_SEQUENTIAL = 0,
  ORT_PARALLEL = 1
} ExecutionMode;

typedef enum OrtAllocatorType {
  OrtInvalidAllocator = -1,
  OrtDeviceAllocator = 0,
  OrtArenaAllocator = 1
} OrtAllocatorType;

typedef enum OrtMemType {
  OrtMemTypeCPUInput = -2,
  OrtMemTypeCPUOutput = -1,
  OrtMemTypeDefault = 0
} OrtMemType;

typedef struct OrtApi {
  /*   0 */ OrtStatus *(*CreateStatus)(OrtErrorCode code, const char *msg);
  /*   1 */ OrtErrorCode (*GetErrorCode)(const OrtStatus *status);
  /*   2 */ const char *(*GetErrorMessage)(const OrtStatus *status);
  /*   3 */ OrtStatus *(*CreateEnv)(OrtLoggingLevel log_severity_level, const char *logid, OrtEnv **out);
  /*   4 */ void *unused_slot_4;
  /*   5 */ void *unused_slot_5;
  /*   6 */ void *unused_slot_6;
  /*   7 */ OrtStatus *(*CreateSession)(const OrtEnv *env, const char *model_path, const OrtSessionOptions *options, OrtSession **out);
  /*   8 */ OrtStatus *(*CreateSessionFromArray)(const OrtEnv *env, const void *model_data, size_t model_data_length, const OrtSessionOptions *options, OrtSession **out);
  /*   9 */ OrtStatus *(*Run)(OrtSession *session, const OrtRunOptions *run_options, const char *const *input_names, const OrtValue *const *inputs, size_t input_len, const char *const *output_names, size_t output_names_len, OrtValue **outputs);
  /*  10 */ OrtStatus *(*CreateSessionOptions)(OrtSessionOptions **options);
  /*  11 */ void *unused_slot_11;
  /*  12 */ void *unused_slot_12;
  /*  13 */ OrtStatus *(*SetSessionExecutionMode)(OrtSessionOptions *options, ExecutionMode execution_mode);
  /*  14 */ void *unused_slot_14;
  /*  15 */ void *unused_slot_15;
  /*  16 */ void *unused_slot_16;
  /*  17 */ void *unused_slot_17;
  /*  18 */ void *unused_slot_18;
  /*  19 */ void *unused_slot_19;
  /*  20 */ void *unused_slot_20;
  /*  21 */ void *unused_slot_21;
  /*  22 */ void *unused_slot_22;
  /*  23 */ OrtStatus *(*SetSessionGraphOptimizationLevel)(OrtSessionOptions *options, GraphOptimizationLevel graph_optimization_level);
  /*  24 */ OrtStatus *(*SetIntraOpNumThreads)(OrtSessionOptions *options, int intra_op_num_threads);
  /*  25 */ OrtStatus *(*SetInterOpNumThreads)(OrtSessionOptions *options, int inter_op_num_threads);
  /*  26 */ void *unused_slot_26;
  /*  27 */ void *unused_slot_27;
  /*  28 */ void *unused_slot_28;
  /*  29 */ void *unused_slot_29;
  /*  30 */ OrtStatus *(*SessionGetInputCount)(const OrtSession *session, size_t *out);
  /*  31 */ OrtStatus *(*SessionGetOutputCount)(const OrtSession *session, size_t *out);
  /*  32 */ void *unused_slot_32;
  /*  33 */ OrtStatus *(*SessionGetInputTypeInfo)(const OrtSession *session, size_t index, OrtTypeInfo **type_info);
  /*  34 */ OrtStatus *(*SessionGetOutputTypeInfo)(const OrtSession *session, size_t index, OrtTypeInfo **type_info);
  /*  35 */ void *unused_slot_35;
  /*  36 */ OrtStatus *(*SessionGetInputName)(const OrtSession *session, size_t index, OrtAllocator *allocator, char **value);
  /*  37 */ OrtStatus *(*SessionGetOutputName)(const OrtSession *session, size_t index, OrtAllocator *allocator, char **value);
  /*  38 */ void *unused_slot_38;
  /*  39 */ OrtStatus *(*CreateRunOptions)(OrtRunOptions **out);
  /*  40 */ void *unused_slot_40;
  /*  41 */ void *unused_slot_41;
  /*  42 */ OrtStatus *(*RunOptionsSetRunTag)(OrtRunOptions *options, const char *run_tag);
  /*  43 */ void *unused_slot_43;
  /*  44 */ void *unused_slot_44;
  /*  45 */ void *unused_slot_45;
  /*  46 */ OrtStatus *(*RunOptionsSetTerminate)(OrtRunOptions *options);
  /*  47 */ OrtStatus *(*RunOptionsUnsetTerminate)(OrtRunOptions *options);
  /*  48 */ OrtStatus *(*CreateTensorAsOrtValue)(OrtAllocator *allocator, const int64_t *shape, size_t shape_len, ONNXTensorElementDataType type, OrtValue **out);
  /*  49 */ OrtStatus *(*CreateTensorWithDataAsOrtValue)(const OrtMemoryInfo *info, void *p_data, size_t p_data_len, const int64_t *shape, size_t shape_len, ONNXTensorElementDataType type, OrtValue **out);
  /*  50 */ OrtStatus *(*IsTensor)(const OrtValue *value, int *out);
  /*  51 */ OrtStatus *(*GetTensorMutableData)(OrtValue *value, void **out);
  /*  52 */ OrtStatus *(*FillStringTensor)(OrtValue *value, const char *const *s, size_t s_len);
  /*  53 */ OrtStatus *(*GetStringTensorDataLength)(const OrtValue *value, size_t *len);
  /*  54 */ OrtStatus *(*GetStringTensorContent)(const OrtValue *value, void *s, size_t s_len, size_t *offsets, size_t offsets_len);
  /*  55 */ OrtStatus *(*CastTypeInfoToTensorInfo)(const OrtTypeInfo *type_info, const OrtTensorTypeAndShapeInfo **out);
  /*  56 */ OrtStatus *(*GetOnnxTypeFromTypeInfo)(const OrtTypeInfo *type_info, ONNXType *out);
  /*  57 */ void *unused_slot_57;
  /*  58 */ void *unused_slot_58;
  /*  59 */ void *unused_slot_59;
  /*  60 */ OrtStatus *(*GetTensorElementType)(const OrtTensorTypeAndShapeInfo *info, ONNXTensorElementDataType *out);
  /*  61 */ OrtStatus *(*GetDimensionsCount)(const OrtTensorTypeAndShapeInfo *info, size_t *out);
  /*  62 */ OrtStatus *(*GetDimensions)(const OrtTensorTypeAndShapeInfo *info, int64_t *dim_values, size_t dim_values_length);
  /*  63 */ OrtStatus *(*GetSymbolicDimensions)(const OrtTensorTypeAndShapeInfo *info, const char **dim_params, size_t dim_params_length);
  /*  64 */ OrtStatus *(*GetTensorShapeElementCount)(const OrtTensorTypeAndShapeInfo *info, size_t *out);
  /*  65 */ OrtStatus *(*GetTensorTypeAndShape)(const OrtValue *value, OrtTensorTypeAndShapeInfo **out);
  /*  66 */ void *unused_slot_66;
  /*  67 */ OrtStatus *(*GetValueType)(const OrtValue *value, ONNXType *out);
  /*  68 */ void *unused_slot_68;
  /*  69 */ OrtStatus *(*CreateCpuMemoryInfo)(OrtAllocatorType type, OrtMemType mem_type, OrtMemoryInfo **out);
  /*  70 */ void *unused_slot_70;
  /*  71 */ void *unused_slot_71;
  /*  72 */ void *unused_slot_72;
  /*  73 */ void *unused_slot_73;
  /*  74 */ void *unused_slot_74;
  /*  75 */ void *unused_slot_75;
  /*  76 */ OrtStatus *(*AllocatorFree)(OrtAllocator *allocator, void *p);
  /*  77 */ void *unused_slot_77;
  /*  78 */ OrtStatus *(*GetAllocatorWithDefaultOptions)(OrtAllocator **out);
  /*  79 */ void *unused_slot_79;
  /*  80 */ OrtStatus *(*GetValue)(const OrtValue *value, int index, OrtAllocator *allocator, OrtValue **out);
  /*  81 */ OrtStatus *(*GetValueCount)(const OrtValue *value, size_t *out);
  /*  82 */ void *unused_slot_82;
  /*  83 */ void *unused_slot_83;
  /*  84 */ void *unused_slot_84;
  /*  85 */ void *unused_slot_85;
  /*  86 */ void *unused_slot_86;
  /*  87 */ void *unused_slot_87;
  /*  88 */ void *unused_slot_88;
  /*  89 */ void *unused_slot_89;
  /*  90 */ void *unused_slot_90;
  /*  91 */ void *unused_slot_91;
  /*  92 */ void (*ReleaseEnv)(OrtEnv *input);
  /*  93 */ void (*ReleaseStatus)(OrtStatus *input);
  /*  94 */ void (*ReleaseMemoryInfo)(OrtMemoryInfo *input);
  /*  95 */ void (*ReleaseSession)(OrtSession *input);
  /*  96 */ void (*ReleaseValue)(OrtValue *input);
  /*  97 */ void (*ReleaseRunOptions)(OrtRunOptions *input);
  /*  98 */ void (*ReleaseTypeInfo)(OrtTypeInfo *input);
  /*  99 */ void (*ReleaseTensorTypeAndShapeInfo)(OrtTensorTypeAndShapeInfo *input);
  /* 100 */ void (*ReleaseSessionOptions)(OrtSessionOptions *input);
  /* 101 */ void *unused_slot_101;
  /* 102 */ void *unused_slot_102;
  /* 103 */ OrtStatus *(*CastTypeInfoToMapTypeInfo)(const OrtTypeInfo *type_info, const OrtMapTypeInfo **out);
  /* 104 */ OrtStatus *(*CastTypeInfoToSequenceTypeInfo)(const OrtTypeInfo *type_info, const OrtSequenceTypeInfo **out);
  /* 105 */ OrtStatus *(*GetMapKeyType)(const OrtMapTypeInfo *map_type_info, ONNXTensorElementDataType *out);
  /* 106 */ OrtStatus *(*GetMapValueType)(const OrtMapTypeInfo *map_type_info, OrtTypeInfo **type_info);
  /* 107 */ OrtStatus *(*GetSequenceElementType)(const OrtSequenceTypeInfo *sequence_type_info, OrtTypeInfo **type_info);
  /* 108 */ void *unused_slot_108;
  /* 109 */ void *unused_slot_109;
  /* 110 */ void *unused_slot_110;
  /* 111 */ OrtStatus *(*SessionGetModelMetadata)(const OrtSession *session, OrtModelMetadata **out);
  /* 112 */ OrtStatus *(*ModelMetadataGetProducerName)(const OrtModelMetadata *model_metadata, OrtAllocator *allocator, char **value);
  /* 113 */ OrtStatus *(*ModelMetadataGetGraphName)(const OrtModelMetadata *model_metadata, OrtAllocator *allocator, char **value);
  /* 114 */ OrtStatus *(*ModelMetadataGetDomain)(const OrtModelMetadata *model_metadata, OrtAllocator *allocator, char **value);
  /* 115 */ OrtStatus *(*ModelMetadataGetDescription)(const OrtModelMetadata *model_metadata, OrtAllocator *allocator, char **value);
  /* 116 */ OrtStatus *(*ModelMetadataLookupCustomMetadataMap)(const OrtModelMetadata *model_metadata, OrtAllocator *allocator, const char *key, char **value);
  /* 117 */ OrtStatus *(*ModelMetadataGetVersion)(const OrtModelMetadata *model_metadata, int64_t *value);
  /* 118 */ void (*ReleaseModelMetadata)(OrtModelMetadata *input);
  /* 119 */ OrtStatus *(*CreateEnvWithGlobalThreadPools)(OrtLoggingLevel log_severity_level, const char *logid, const OrtThreadingOptions *tp_options, OrtEnv **out);
  /* 120 */ OrtStatus *(*DisablePerSessionThreads)(OrtSessionOptions *options);
  /* 121 */ OrtStatus *(*CreateThreadingOptions)(OrtThreadingOptions **out);
  /* 122 */ void (*ReleaseThreadingOptions)(OrtThreadingOptions *input);
  /* 123 */ OrtStatus *(*ModelMetadataGetCustomMetadataMapKeys)(const OrtModelMetadata *model_metadata, OrtAllocator *allocator, char ***keys, int64_t *num_keys);
  /* 124 */ void *unused_slot_124;
  /* 125 */ OrtStatus *(*GetAvailableProviders)(char ***out_ptr, int *provider_length);
  /* 126 */ OrtStatus *(*ReleaseAvailableProviders)(char **ptr, int providers_length);
  /* 127 */ OrtStatus *(*GetStringTensorElementLength)(const OrtValue *value, size_t index, size_t *out);
  /* 128 */ OrtStatus *(*GetStringTensorElement)(const OrtValue *value, size_t s_len, size_t index, void *s);
  /* 129 */ void *unused_slot_129;
  /* 130 */ void *unused_slot_130;
  /* 131 */ void *unused_slot_131;
  /* 132 */ void *unused_slot_132;
  /* 133 */ void *unused_slot_133;
  /* 134 */ void *unused_slot_134;
  /* 135 */ void *unused_slot_135;
  /* 136 */ void *unused_slot_136;
  /* 137 */ void *unused_slot_137;
  /* 138 */ void *unused_slot_138;
  /* 139 */ void *unused_slot_139;
  /* 140 */ void *unused_slot_140;
  /* 141 */ void *unused_slot_141;
  /* 142 */ void *unused_slot_142;
  /* 143 */ void *unused_slot_143;
  /* 144 */ void *unused_slot_144;
  /* 145 */ void *unused_slot_145;
  /* 146 */ void *unused_slot_146;
  /* 147 */ OrtStatus *(*SetGlobalIntraOpNumThreads)(OrtThreadingOptions *tp_options, int intra_op_num_threads);
  /* 148 */ OrtStatus *(*SetGlobalInterOpNumThreads)(OrtThreadingOptions *tp_options, int inter_op_num_threads);
  /* 149 */ OrtStatus *(*SetGlobalSpinControl)(OrtThreadingOptions *tp_options, int allow_spinning);
  /* 150 */ void *unused_slot_150;
  /* 151 */ void *unused_slot_151;
  /* 152 */ void *unused_slot_152;
  /* 153 */ void *unused_slot_153;
  /* 154 */ void *unused_slot_154;
  /* 155 */ void *unused_slot_155;
  /* 156 */ void *unused_slot_156;
  /* 157 */ void *unused_slot_157;
  /* 158 */ OrtStatus *(*ModelMetadataGetGraphDescription)(const OrtModelMetadata *model_metadata, OrtAllocator *allocator, char **value);
  /* 159 */ void *unused_slot_159;
  /* 160 */ void *unused_slot_160;
  /* 161 */ void *unused_slot_161;
  /* 162 */ void *unused_slot_162;
  /* 163 */ void *unused_slot_163;
  /* 164 */ void *unused_slot_164;
  /* 165 */ void *unused_slot_165;
  /* 166 */ void *unused_slot_166;
  /* 167 */ void *unused_slot_167;
  /* 168 */ void *unused_slot_168;
  /* 169 */ void *unused_slot_169;
  /* 170 */ OrtStatus *(*SessionOptionsAppendExecutionProvider_TensorRT_V2)(OrtSessionOptions *options, const OrtTensorRTProviderOptionsV2 *tensorrt_options);
  /* 171 */ OrtStatus *(*CreateTensorRTProviderOptions)(OrtTensorRTProviderOptionsV2 **out);
  /* 172 */ OrtStatus *(*UpdateTensorRTProviderOptions)(OrtTensorRTProviderOptionsV2 *tensorrt_options, const char *const *provider_options_keys, const char *const *provider_options_values, size_t num_keys);
  /* 173 */ OrtStatus *(*GetTensorRTProviderOptionsAsString)(const OrtTensorRTProviderOptionsV2 *tensorrt_options, OrtAllocator *allocator, char **ptr);
  /* 174 */ void (*ReleaseTensorRTProviderOptions)(OrtTensorRTProviderOptionsV2 *input);
  /* 175 */ void *unused_slot_175;
  /* 176 */ void *unused_slot_176;
  /* 177 */ void *unused_slot_177;
  /* 178 */ void *unused_slot_178;
  /* 179 */ void *unused_slot_179;
  /* 180 */ void *unused_slot_180;
  /* 181 */ void *unused_slot_181;
  /* 182 */ void *unused_slot_182;
  /* 183 */ void *unused_slot_183;
  /* 184 */ void *unused_slot_184;
  /* 185 */ void *unused_slot_185;
  /* 186 */ void *unused_slot_186;
  /* 187 */ void *unused_slot_187;
  /* 188 */ void *unused_slot_188;
  /* 189 */ void *unused_slot_189;
  /* 190 */ void *unused_slot_190;
  /* 191 */ void *unused_slot_191;
  /* 192 */ void *unused_slot_192;
  /* 193 */ void *unused_slot_193;
  /* 194 */ void *unused_slot_194;
  /* 195 */ void *unused_slot_195;
  /* 196 */ void *unused_slot_196;
  /* 197 */ void *unused_slot_197;
  /* 198 */ void *unused_slot_198;
  /* 199 */ void *unused_slot_199;
  /* 200 */ void *unused_slot_200;
  /* 201 */ void *unused_slot_201;
  /* 202 */ void *unused_slot_202;
  /* 203 */ void *unused_slot_203;
  /* 204 */ OrtStatus *(*SessionOptionsAppendExecutionProvider_CUDA_V2)(OrtSessionOptions *options, const OrtCUDAProviderOptionsV2 *cuda_options);
  /* 205 */ OrtStatus *(*CreateCUDAProviderOptions)(OrtCUDAProviderOptionsV2 **out);
  /* 206 */ OrtStatus *(*UpdateCUDAProviderOptions)(OrtCUDAProviderOptionsV2 *cuda_options, const char *const *provider_options_keys, const char *const *provider_options_values, size_t num_keys);
  /* 207 */ OrtStatus *(*GetCUDAProviderOptionsAsString)(const OrtCUDAProviderOptionsV2 *cuda_options, OrtAllocator *allocator, char **ptr);
  /* 208 */ void (*ReleaseCUDAProviderOptions)(OrtCUDAProviderOptionsV2 *input);
} OrtApi;

typedef struct OrtApiBase {
  const OrtApi *(*GetApi)(uint32_t version);
  const char *(*GetVersionString)(void);
} OrtApiBase;

typedef const OrtApiBase *(*OrtGetApiBaseFunction)(void);

_Static_assert(offsetof(OrtApi, CreateStatus) == 0 * sizeof(void *), "OrtApi.CreateStatus must be slot 0");
_Static_assert(offsetof(OrtApi, GetErrorCode) == 1 * sizeof(void *), "OrtApi.GetErrorCode must be slot 1");
_Static_assert(offsetof(OrtApi, GetErrorMessage) == 2 * sizeof(void *), "OrtApi.GetErrorMessage must be slot 2");
_Static_assert(offsetof(OrtApi, CreateEnv) == 3 * sizeof(void *), "OrtApi.CreateEnv must be slot 3");
_Static_assert(offsetof(OrtApi, CreateSession) == 7 * sizeof(void *), "OrtApi.CreateSession must be slot 7");
_Static_assert(offsetof(OrtApi, CreateSessionFromArray) == 8 * sizeof(void *), "OrtApi.CreateSessionFromArray must be slot 8");
_Static_assert(offsetof(OrtApi, Run) == 9 * sizeof(void *), "OrtApi.Run must be slot 9");
_Static_assert(offsetof(OrtApi, CreateSessionOptions) == 10 * sizeof(void *), "OrtApi.CreateSessionOptions must be slot 10");
_Static_assert(offsetof(OrtApi, SetSessionExecutionMode) == 13 * sizeof(void *), "OrtApi.SetSessionExecutionMode must be slot 13");
_Static_assert(offsetof(OrtApi, SetSessionGraphOptimizationLevel) == 23 * sizeof(void *), "OrtApi.SetSessionGraphOptimizationLevel must be slot 23");
_Static_assert(offsetof(OrtApi, SetIntraOpNumThreads) == 24 * sizeof(void *), "OrtApi.SetIntraOpNumThreads must be slot 24");
_Static_assert(offsetof(OrtApi, SetInterOpNumThreads) == 25 * sizeof(void *), "OrtApi.SetInterOpNumThreads must be slot 25");
_Static_assert(offsetof(OrtApi, SessionGetInputCount) == 30 * sizeof(void *), "OrtApi.SessionGetInputCount must be slot 30");
_Static_assert(offsetof(OrtApi, SessionGetOutputCount) == 31 * sizeof(void *), "OrtApi.SessionGetOutputCount must be slot 31");
_Static_assert(offsetof(OrtApi, SessionGetInputTypeInfo) == 33 * sizeof(void *), "OrtApi.SessionGetInputTypeInfo must be slot 33");
_Static_assert(offsetof(OrtApi, SessionGetOutputTypeInfo) == 34 * sizeof(void *), "OrtApi.SessionGetOutputTypeInfo must be slot 34");
_Static_assert(offsetof(OrtApi, SessionGetInputName) == 36 * sizeof(void *), "OrtApi.SessionGetInputName must be slot 36");
_Static_assert(offsetof(OrtApi, SessionGetOutputName) == 37 * sizeof(void *), "OrtApi.SessionGetOutputName must be slot 37");
_Static_assert(offsetof(OrtApi, CreateRunOptions) == 39 * sizeof(void *), "OrtApi.CreateRunOptions must be slot 39");
_Static_assert(offsetof(OrtApi, RunOptionsSetRunTag) == 42 * sizeof(void *), "OrtApi.RunOptionsSetRunTag must be slot 42");
_Static_assert(offsetof(OrtApi, RunOptionsSetTerminate) == 46 * sizeof(void *), "OrtApi.RunOptionsSetTerminate must be slot 46");
_Static_assert(offsetof(OrtApi, RunOptionsUnsetTerminate) == 47 * sizeof(void *), "OrtApi.RunOptionsUnsetTerminate must be slot 47");
_Static_assert(offsetof(OrtApi, CreateTensorAsOrtValue) == 48 * sizeof(void *), "OrtApi.CreateTensorAsOrtValue must be slot 48");
_Static_assert(offsetof(OrtApi, CreateTensorWithDataAsOrtValue) == 49 * sizeof(void *), "OrtApi.CreateTensorWithDataAsOrtValue must be slot 49");
_Static_assert(offsetof(OrtApi, IsTensor) == 50 * sizeof(void *), "OrtApi.IsTensor must be slot 50");
_Static_assert(offsetof(OrtApi, GetTensorMutableData) == 51 * sizeof(void *), "OrtApi.GetTensorMutableData must be slot 51");
_Static_assert(offsetof(OrtApi, FillStringTensor) == 52 * sizeof(void *), "OrtApi.FillStringTensor must be slot 52");
_Static_assert(offsetof(OrtApi, GetStringTensorDataLength) == 53 * sizeof(void *), "OrtApi.GetStringTensorDataLength must be slot 53");
_Static_assert(offsetof(OrtApi, GetStringTensorContent) == 54 * sizeof(void *), "OrtApi.GetStringTensorContent must be slot 54");
_Static_assert(offsetof(OrtApi, CastTypeInfoToTensorInfo) == 55 * sizeof(void *), "OrtApi.CastTypeInfoToTensorInfo must be slot 55");
_Static_assert(offsetof(OrtApi, GetOnnxTypeFromTypeInfo) == 56 * sizeof(void *), "OrtApi.GetOnnxTypeFromTypeInfo must be slot 56");
_Static_assert(offsetof(OrtApi, GetTensorElementType) == 60 * sizeof(void *), "OrtApi.GetTensorElementType must be slot 60");
_Static_assert(offsetof(OrtApi, GetDimensionsCount) == 61 * sizeof(void *), "OrtApi.GetDimensionsCount must be slot 61");
_Static_assert(offsetof(OrtApi, GetDimensions) == 62 * sizeof(void *), "OrtApi.GetDimensions must be slot 62");
_Static_assert(offsetof(OrtApi, GetSymbolicDimensions) == 63 * sizeof(void *), "OrtApi.GetSymbolicDimensions must be slot 63");
_Static_assert(offsetof(OrtApi, GetTensorShapeElementCount) == 64 * sizeof(void *), "OrtApi.GetTensorShapeElementCount must be slot 64");
_Static_assert(offsetof(OrtApi, GetTensorTypeAndShape) == 65 * sizeof(void *), "OrtApi.GetTensorTypeAndShape must be slot 65");
_Static_assert(offsetof(OrtApi, GetValueType) == 67 * sizeof(void *), "OrtApi.GetValueType must be slot 67");
_Static_assert(offsetof(OrtApi, CreateCpuMemoryInfo) == 69 * sizeof(void *), "OrtApi.CreateCpuMemoryInfo must be slot 69");
_Static_assert(offsetof(OrtApi, AllocatorFree) == 76 * sizeof(void *), "OrtApi.AllocatorFree must be slot 76");
_Static_assert(offsetof(OrtApi, GetAllocatorWithDefaultOptions) == 78 * sizeof(void *), "OrtApi.GetAllocatorWithDefaultOptions must be slot 78");
_Static_assert(offsetof(OrtApi, GetValue) == 80 * sizeof(void *), "OrtApi.GetValue must be slot 80");
_Static_assert(offsetof(OrtApi, GetValueCount) == 81 * sizeof(void *), "OrtApi.GetValueCount must be slot 81");
_Static_assert(offsetof(OrtApi, ReleaseEnv) == 92 * sizeof(void *), "OrtApi.ReleaseEnv must be slot 92");
_Static_assert(offsetof(OrtApi, ReleaseStatus) == 93 * sizeof(void *), "OrtApi.ReleaseStatus must be slot 93");
_Static_assert(offsetof(OrtApi, ReleaseMemoryInfo) == 94 * sizeof(void *), "OrtApi.ReleaseMemoryInfo must be slot 94");
_Static_assert(offsetof(OrtApi, ReleaseSession) == 95 * sizeof(void *), "OrtApi.ReleaseSession must be slot 95");
_Static_assert(offsetof(OrtApi, ReleaseValue) == 96 * sizeof(void *), "OrtApi.ReleaseValue must be slot 96");
_Static_assert(offsetof(OrtApi, ReleaseRunOptions) == 97 * sizeof(void *), "OrtApi.ReleaseRunOptions must be slot 97");
_Static_assert(offsetof(OrtApi, ReleaseTypeInfo) == 98 * sizeof(void *), "OrtApi.ReleaseTypeInfo must be slot 98");
_Static_assert(offsetof(OrtApi, ReleaseTensorTypeAndShapeInfo) == 99 * sizeof(void *), "OrtApi.ReleaseTensorTypeAndShapeInfo must be slot 99");
_Static_assert(offsetof(OrtApi, ReleaseSessionOptions) == 100 * sizeof(void *), "OrtApi.ReleaseSessionOptions must be slot 100");
_Static_assert(offsetof(OrtApi, CastTypeInfoToMapTypeInfo) == 103 * sizeof(void *), "OrtApi.CastTypeInfoToMapTypeInfo must be slot 103");
_Static_assert(offsetof(OrtApi, CastTypeInfoToSequenceTypeInfo) == 104 * sizeof(void *), "OrtApi.CastTypeInfoToSequenceTypeInfo must be slot 104");
_Static_assert(offsetof(OrtApi, GetMapKeyType) == 105 * sizeof(void *), "OrtApi.GetMapKeyType must be slot 105");
_Static_assert(offsetof(OrtApi, GetMapValueType) == 106 * sizeof(void *), "OrtApi.GetMapValueType must be slot 106");
_Static_assert(offsetof(OrtApi, GetSequenceElementType) == 107 * sizeof(void *), "OrtApi.GetSequenceElementType must be slot 107");
_Static_assert(offsetof(OrtApi, SessionGetModelMetadata) == 111 * sizeof(void *), "OrtApi.SessionGetModelMetadata must be slot 111");
_Static_assert(offsetof(OrtApi, ModelMetadataGetProducerName) == 112 * sizeof(void *), "OrtApi.ModelMetadataGetProducerName must be slot 112");
_Static_assert(offsetof(OrtApi, ModelMetadataGetGraphName) == 113 * sizeof(void *), "OrtApi.ModelMetadataGetGraphName must be slot 113");
_Static_assert(offsetof(OrtApi, ModelMetadataGetDomain) == 114 * sizeof(void *), "OrtApi.ModelMetadataGetDomain must be slot 114");
_Static_assert(offsetof(OrtApi, ModelMetadataGetDescription) == 115 * sizeof(void *), "OrtApi.ModelMetadataGetDescription must be slot 115");
_Static_assert(offsetof(OrtApi, ModelMetadataLookupCustomMetadataMap) == 116 * sizeof(void *), "OrtApi.ModelMetadataLookupCustomMetadataMap must be slot 116");
_Static_assert(offsetof(OrtApi, ModelMetadataGetVersion) == 117 * sizeof(void *), "OrtApi.ModelMetadataGetVersion must be slot 117");
_Static_assert(offsetof(OrtApi, ReleaseModelMetadata) == 118 * sizeof(void *), "OrtApi.ReleaseModelMetadata must be slot 118");
_Static_assert(offsetof(OrtApi, CreateEnvWithGlobalThreadPools) == 119 * sizeof(void *), "OrtApi.CreateEnvWithGlobalThreadPools must be slot 119");
_Static_assert(offsetof(OrtApi, DisablePerSessionThreads) == 120 * sizeof(void *), "OrtApi.DisablePerSessionThreads must be slot 120");
_Static_assert(offsetof(OrtApi, CreateThreadingOptions) == 121 * sizeof(void *), "OrtApi.CreateThreadingOptions must be slot 121");
_Static_assert(offsetof(OrtApi, ReleaseThreadingOptions) == 122 * sizeof(void *), "OrtApi.ReleaseThreadingOptions must be slot 122");
_Static_assert(offsetof(OrtApi, ModelMetadataGetCustomMetadataMapKeys) == 123 * sizeof(void *), "OrtApi.ModelMetadataGetCustomMetadataMapKeys must be slot 123");
_Static_assert(offsetof(OrtApi, GetStringTensorElementLength) == 127 * sizeof(void *), "OrtApi.GetStringTensorElementLength must be slot 127");
_Static_assert(offsetof(OrtApi, GetStringTensorElement) == 128 * sizeof(void *), "OrtApi.GetStringTensorElement must be slot 128");
_Static_assert(offsetof(OrtApi, SetGlobalIntraOpNumThreads) == 147 * sizeof(void *), "OrtApi.SetGlobalIntraOpNumThreads must be slot 147");
_Static_assert(offsetof(OrtApi, SetGlobalInterOpNumThreads) == 148 * sizeof(void *), "OrtApi.SetGlobalInterOpNumThreads must be slot 148");
_Static_assert(offsetof(OrtApi, SetGlobalSpinControl) == 149 * sizeof(void *), "OrtApi.SetGlobalSpinControl must be slot 149");
_Static_assert(offsetof(OrtApi, ModelMetadataGetGraphDescription) == 158 * sizeof(void *), "OrtApi.ModelMetadataGetGraphDescription must be slot 158");
_Static_assert(offsetof(OrtApi, GetAvailableProviders) == 125 * sizeof(void *), "OrtApi.GetAvailableProviders must be slot 125");
_Static_assert(offsetof(OrtApi, ReleaseAvailableProviders) == 126 * sizeof(void *), "OrtApi.ReleaseAvailableProviders must be slot 126");
_Static_assert(offsetof(OrtApi, SessionOptionsAppendExecutionProvider_TensorRT_V2) == 170 * sizeof(void *), "OrtApi.SessionOptionsAppendExecutionProvider_TensorRT_V2 must be slot 170");
_Static_assert(offsetof(OrtApi, CreateTensorRTProviderOptions) == 171 * sizeof(void *), "OrtApi.CreateTensorRTProviderOptions must be slot 171");
_Static_assert(offsetof(OrtApi, UpdateTensorRTProviderOptions) == 172 * sizeof(void *), "OrtApi.UpdateTensorRTProviderOptions must be slot 172");
_Static_assert(offsetof(OrtApi, GetTensorRTProviderOptionsAsString) == 173 * sizeof(void *), "OrtApi.GetTensorRTProviderOptionsAsString must be slot 173");
_Static_assert(offsetof(OrtApi, ReleaseTensorRTProviderOptions) == 174 * sizeof(void *), "OrtApi.ReleaseTensorRTProviderOptions must be slot 174");
_Static_assert(offsetof(OrtApi, SessionOptionsAppendExecutionProvider_CUDA_V2) == 204 * sizeof(void *), "OrtApi.SessionOptionsAppendExecutionProvider_CUDA_V2 must be slot 204");
_Static_assert(offsetof(OrtApi, CreateCUDAProviderOptions) == 205 * sizeof(void *), "OrtApi.CreateCUDAProviderOptions must be slot 205");
_Static_assert(offsetof(OrtApi, UpdateCUDAProviderOptions) == 206 * sizeof(void *), "OrtApi.UpdateCUDAProviderOptions must be slot 206");
_Static_assert(offsetof(OrtApi, GetCUDAProviderOptionsAsString) == 207 * sizeof(void *), "OrtApi.GetCUDAProviderOptionsAsString must be slot 207");
_Static_assert(offsetof(OrtApi, ReleaseCUDAProviderOptions) == 208 * sizeof(void *), "OrtApi.ReleaseCUDAProviderOptions must be slot 208");

#endif
