"""ONNX backend node-test cases in fvir's scope that it knowingly does not run, with why.

`test_node_conformance.py` reports each as a skip with its reason, and checks that every name
here is a real, in-scope case and every pattern matches one, so the lists cannot rot.
`IMPORTER_XFAIL` holds cases that fail because of a reported importer bug (strict xfail: fixing
the bug makes them fail loudly until the entry is removed).
"""

_3D_POOL = "3-D pooling: dnn.pool2d covers 1-D and 2-D windows only"
_LP_POOL = "LpPool has no dnn op"
_TRAINING_DROPOUT = "training-mode Dropout with a nonzero ratio (random masks)"
_STRING = "string tensors (no fvir element type)"
_LOOP = "Loop (control flow) has no dnn op"

UNSUPPORTED: dict[str, str] = {
    # convolution
    "test_convinteger_with_padding": "ConvInteger (quantized uint8 convolution) has no dnn op",
    "test_convinteger_without_padding": "ConvInteger (quantized uint8 convolution) has no dnn op",
    # pooling
    "test_averagepool_3d_default": _3D_POOL,
    "test_averagepool_3d_dilations_small": _3D_POOL,
    "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False": _3D_POOL,
    "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True": _3D_POOL,
    "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False": _3D_POOL,
    "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True": _3D_POOL,
    "test_maxpool_3d_default": _3D_POOL,
    "test_maxpool_3d_dilations": _3D_POOL,
    "test_maxpool_3d_dilations_use_ref_impl": _3D_POOL,
    "test_maxpool_3d_dilations_use_ref_impl_large": _3D_POOL,
    "test_lppool_1d_default": _LP_POOL,
    "test_lppool_2d_default": _LP_POOL,
    "test_lppool_2d_dilations": _LP_POOL,
    "test_lppool_2d_pads": _LP_POOL,
    "test_lppool_2d_same_lower": _LP_POOL,
    "test_lppool_2d_same_upper": _LP_POOL,
    "test_lppool_2d_strides": _LP_POOL,
    "test_lppool_3d_default": _LP_POOL,
    "test_maxpool_with_argmax_2d_precomputed_pads": "MaxPool's second output (Indices)",
    "test_maxpool_with_argmax_2d_precomputed_strides": "MaxPool's second output (Indices)",
    "test_maxunpool_export_with_output_shape": "MaxUnpool has no dnn op",
    "test_maxunpool_export_without_output_shape": "MaxUnpool has no dnn op",
    # matmul
    "test_matmulinteger": "MatMulInteger (quantized uint8 matmul) has no dnn op",
    # batchnorm: only inference is in scope
    "test_batchnorm_example_training_mode": "training-mode BatchNormalization (batch statistics)",
    "test_batchnorm_epsilon_training_mode": "training-mode BatchNormalization (batch statistics)",
    # identity on non-tensor types
    "test_identity_opt": "optional-typed values (fvir values are tensors)",
    "test_identity_sequence": "sequence-typed values (fvir values are tensors)",
    # dropout: only inference is in scope (training with ratio 0 is the identity and runs)
    "test_training_dropout": _TRAINING_DROPOUT,
    "test_training_dropout_default": _TRAINING_DROPOUT,
    "test_training_dropout_default_mask": _TRAINING_DROPOUT,
    "test_training_dropout_mask": _TRAINING_DROPOUT,
    # comparisons
    "test_equal_string": _STRING,
    "test_equal_string_broadcast": _STRING,
    # range: the function expansion is a Loop
    "test_range_float16_type_positive_delta_expanded": _LOOP,
    "test_range_float_type_positive_delta_expanded": _LOOP,
    "test_range_int32_type_negative_delta_expanded": _LOOP,
}

UNSUPPORTED_PATTERNS: dict[str, str] = {
    # element types fvir has no type for (each pattern names cases of Cast, CastLike, Range)
    "test_cast*BFLOAT16*": "bfloat16 tensors (no fvir element type)",
    "test_range_bfloat16_*": "bfloat16 tensors (no fvir element type)",
    "test_cast*FLOAT8*": "8-bit float tensors (no fvir element type)",
    "test_cast*FLOAT4E2M1*": "4-bit float tensors (no fvir element type)",
    "test_cast*INT4*": "4-bit integer tensors (no fvir element type)",
    "test_cast*INT2*": "2-bit integer tensors (no fvir element type)",
    # Resize options the host function does not implement (rejected at import)
    "test_resize_*cubic*": "Resize mode 'cubic' (fvir has nearest and linear)",
    "test_resize_*antialias": "Resize with antialias",
    "test_resize_tf_crop_and_resize*": "Resize coordinate_transformation_mode tf_crop_and_resize",
    "test_resize_*_not_larger": "Resize keep_aspect_ratio_policy other than stretch",
    "test_resize_*_not_smaller": "Resize keep_aspect_ratio_policy other than stretch",
}
"""Name patterns (fnmatch) of whole families of unsupported cases, with why; the first
matching pattern gives the reason. A name in `UNSUPPORTED` takes precedence."""

IMPORTER_XFAIL: dict[str, str] = {}

DIFFERENT: dict[str, str] = {
    "test_resize_downsample_scales_linear_align_corners": (
        "ONNX's expected output takes align_corners' output length as scale x input length "
        "(2.4, onnx/onnx#2462); fvir, like onnxruntime, uses the integer output length (2)"
    ),
}
"""Cases fvir runs but deliberately computes differently from ONNX's expected output, with
why; all other unsupported cases must fail with a one-line UserError."""
