"""ONNX backend node-test cases in fvir's scope that it knowingly does not run, with why.

`test_node_conformance.py` reports each as a skip with its reason, and checks that every name
here is a real, in-scope case so the list cannot rot. `IMPORTER_XFAIL` holds cases that fail
because of a reported importer bug (strict xfail: fixing the bug makes them fail loudly until
the entry is removed).
"""

_NO_CONV_TRANSPOSE = "ConvTranspose has no dnn op"
_3D_POOL = "3-D pooling: dnn.pool2d covers 1-D and 2-D windows only"
_LP_POOL = "LpPool has no dnn op"

UNSUPPORTED: dict[str, str] = {
    # convolution
    "test_convinteger_with_padding": "ConvInteger (quantized uint8 convolution) has no dnn op",
    "test_convinteger_without_padding": "ConvInteger (quantized uint8 convolution) has no dnn op",
    "test_convtranspose": _NO_CONV_TRANSPOSE,
    "test_convtranspose_1d": _NO_CONV_TRANSPOSE,
    "test_convtranspose_3d": _NO_CONV_TRANSPOSE,
    "test_convtranspose_autopad_same": _NO_CONV_TRANSPOSE,
    "test_convtranspose_dilations": _NO_CONV_TRANSPOSE,
    "test_convtranspose_group_2": _NO_CONV_TRANSPOSE,
    "test_convtranspose_group_2_image_3": _NO_CONV_TRANSPOSE,
    "test_convtranspose_kernel_shape": _NO_CONV_TRANSPOSE,
    "test_convtranspose_output_shape": _NO_CONV_TRANSPOSE,
    "test_convtranspose_pad": _NO_CONV_TRANSPOSE,
    "test_convtranspose_pads": _NO_CONV_TRANSPOSE,
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
}

IMPORTER_XFAIL: dict[str, str] = {}
