// RUN: fv-opt %s -p dnn-tile | filecheck %s
// RUN: fv-opt %s -p 'dnn-tile{min-tiles=1}' | filecheck %s --check-prefix=FEW

// Tilings chosen for paper-u200 (B512 core: PP 4, ICP 8, OCP 8; fmap 64 KiB, weights 288 KiB,
// bias 32 KiB; 16 cores). Windows, pads and footprints are the arithmetic of the layer; the
// grids are the cost model's choice (at least 16 tiles, balanced for 1..16 cores).

// CHECK: builtin.module attributes {tile.core = #tile.core<pp 4 icp 8 ocp 8 fmap 65536 weight 294912 bias 32768>, tile.hw = "paper-u200"}

// 3x3 stride 1 pad 1, 64 -> 64 channels at 56x56 (ResNet layer1): bands of 8 rows (2 x PP)
// x 16 output channels = 28 tiles. The first band reads input rows [0, 9) (8 rows + the 2-row halo,
// minus the top one, which is the conv's zero padding: pads [1, 1, 0, 1]); fmap = 9x56x64 input +
// 8x56x16 output = 39424 bytes, weights 16x3x3x64 = 9216, biases 16 x 4.
func.func @conv3x3(%x: tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32> {
  %w = dnn.weight "w" : tensor<64x64x3x3xf32>
  %b = dnn.weight "b" : tensor<64xf32>
  %y = dnn.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] act #dnn.act<relu> : (tensor<1x64x56x56xf32>, tensor<64x64x3x3xf32>, tensor<64xf32>) -> tensor<1x64x56x56xf32>
  func.return %y : tensor<1x64x56x56xf32>
}
// CHECK-LABEL: func.func @conv3x3
// CHECK:       %y = tile.layer "y" conv grid [7, 1, 4] cost {{[0-9]+}} (%x)
// CHECK:       tile.tile out [0:8, 0:56, 0:16] in [0:9, 0:56, 0:64] pads [1, 1, 0, 1] step 4 buffers [39424, 9216, 64] cost {{[0-9]+}}
// CHECK:       tile.tile out [8:16, 0:56, 0:16] in [7:17, 0:56, 0:64] pads [0, 1, 0, 1] step 4 buffers [43008, 9216, 64]
// CHECK:       tile.tile out [48:56, 0:56, 48:64] in [47:56, 0:56, 0:64] pads [0, 1, 1, 1] step 4 buffers [39424, 9216, 64]

// 7x7 stride 2 pad 3 (ResNet conv1): 3 input channels, so the input window is small and the
// output dominates the fmap buffer: bands of 16 rows x 8 channels. Rows [0, 16) need input rows
// 2*0-3 .. 2*15-3+7 = [-3, 34): 3 rows of padding on top; the last band needs [189, 226): the
// bottom padding is 2 (the last window), not the declared 3.
func.func @conv7x7s2(%x: tensor<1x3x224x224xf32>) -> tensor<1x64x112x112xf32> {
  %w = dnn.weight "w" : tensor<64x3x7x7xf32>
  %y = dnn.conv2d %x, %w strides [2, 2] pads [3, 3, 3, 3] dilations [1, 1] : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>) -> tensor<1x64x112x112xf32>
  func.return %y : tensor<1x64x112x112xf32>
}
// CHECK-LABEL: func.func @conv7x7s2
// CHECK:       %y = tile.layer "y_1" conv grid [7, 1, 8] cost {{[0-9]+}} (%x)
// CHECK:       tile.tile out [0:16, 0:112, 0:8] in [0:34, 0:224, 0:3] pads [3, 3, 0, 2] step 4 buffers [37184, 1176, 32]
// CHECK:       tile.tile out [96:112, 0:112, 56:64] in [189:224, 0:224, 0:3] pads [0, 3, 2, 2] step 4 buffers [37856, 1176, 32]

// 1x1, 256 -> 64 channels: 4 full-width rows of 256 channels (57 KB) plus their output do not fit
// 64 KiB, so the band is split into two halves of 28 columns.
func.func @conv1x1(%x: tensor<1x256x56x56xf32>) -> tensor<1x64x56x56xf32> {
  %w = dnn.weight "w" : tensor<64x256x1x1xf32>
  %y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x256x56x56xf32>, tensor<64x256x1x1xf32>) -> tensor<1x64x56x56xf32>
  func.return %y : tensor<1x64x56x56xf32>
}
// CHECK-LABEL: func.func @conv1x1
// CHECK:       %y = tile.layer "y_2" conv grid [14, 2, 1] cost {{[0-9]+}} (%x)
// CHECK:       tile.tile out [0:4, 0:28, 0:64] in [0:4, 0:28, 0:256] pads [0, 0, 0, 0] step 4 buffers [35840, 16384, 256]
// CHECK:       tile.tile out [52:56, 28:56, 0:64] in [52:56, 28:56, 0:256] pads [0, 0, 0, 0] step 4 buffers [35840, 16384, 256]

// Depthwise 3x3 stride 2 (MobileNetV2): channel groups of ICP = 8 read only their own input
// channels, so a whole 56x56 image slice fits: 18 tiles of 28x28x8, weights [3][3][8] = 72 bytes.
func.func @depthwise(%x: tensor<1x144x56x56xf32>) -> tensor<1x144x28x28xf32> {
  %w = dnn.weight "w" : tensor<144x1x3x3xf32>
  %y = dnn.conv2d %x, %w strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1] group 144 act #dnn.act<clip 0.0 6.0> : (tensor<1x144x56x56xf32>, tensor<144x1x3x3xf32>) -> tensor<1x144x28x28xf32>
  func.return %y : tensor<1x144x28x28xf32>
}
// CHECK-LABEL: func.func @depthwise
// CHECK:       %y = tile.layer "y_3" dwconv grid [1, 1, 18] cost {{[0-9]+}} (%x)
// CHECK:       tile.tile out [0:28, 0:28, 0:8] in [0:56, 0:56, 0:8] pads [1, 1, 0, 0] step 8 buffers [31360, 72, 32]
// CHECK:       tile.tile out [0:28, 0:28, 136:144] in [0:56, 0:56, 136:144] pads [1, 1, 0, 0] step 8 buffers [31360, 72, 32]

// Dense 2048 -> 1000: split along output features only, in multiples of OCP: 41 groups of 24
// and the remaining 16 (each reads the whole 2048-byte input vector).
func.func @dense(%x: tensor<1x2048xf32>) -> tensor<1x1000xf32> {
  %w = dnn.weight "w" : tensor<1000x2048xf32>
  %b = dnn.weight "b" : tensor<1000xf32>
  %y = dnn.dense %x, %w, %b trans_b : (tensor<1x2048xf32>, tensor<1000x2048xf32>, tensor<1000xf32>) -> tensor<1x1000xf32>
  func.return %y : tensor<1x1000xf32>
}
// CHECK-LABEL: func.func @dense
// CHECK:       %y = tile.layer "y_4" dense grid [1, 1, 42] cost {{[0-9]+}} (%x)
// CHECK:       tile.tile out [0:1, 0:1, 0:24] in [0:1, 0:1, 0:2048] pads [0, 0, 0, 0] step 1 buffers [2072, 49152, 96]
// CHECK:       tile.tile out [0:1, 0:1, 984:1000] in [0:1, 0:1, 0:2048] pads [0, 0, 0, 0] step 1 buffers [2064, 32768, 64]

// Max pooling 3x3 stride 2: no weights; 28-row halves of 8 channels.
func.func @maxpool(%x: tensor<1x64x112x112xf32>) -> tensor<1x64x56x56xf32> {
  %y = dnn.pool2d max %x kernel [3, 3] strides [2, 2] pads [1, 1, 1, 1] : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
  func.return %y : tensor<1x64x56x56xf32>
}
// CHECK-LABEL: func.func @maxpool
// CHECK:       %y = tile.layer "y_5" pool grid [2, 1, 8] cost {{[0-9]+}} (%x)
// CHECK:       tile.tile out [0:28, 0:56, 0:8] in [0:56, 0:112, 0:8] pads [1, 1, 0, 0] step 8 buffers [62720, 0, 0]
// CHECK:       tile.tile out [28:56, 0:56, 56:64] in [55:112, 0:112, 56:64] pads [0, 1, 0, 0] step 8 buffers [63616, 0, 0]

// Residual add: both inputs loaded per tile (2 x 8 x 56 x 64 = 57344 bytes), the sum written over
// the first (in place).
func.func @residual(%a: tensor<1x256x56x56xf32>, %b: tensor<1x256x56x56xf32>) -> tensor<1x256x56x56xf32> {
  %y = dnn.add %a, %b act #dnn.act<relu> : (tensor<1x256x56x56xf32>, tensor<1x256x56x56xf32>) -> tensor<1x256x56x56xf32>
  func.return %y : tensor<1x256x56x56xf32>
}
// CHECK-LABEL: func.func @residual
// CHECK:       %y = tile.layer "y_6" eltwise grid [7, 1, 4] cost {{[0-9]+}} (%a, %b)
// CHECK:       tile.tile out [0:8, 0:56, 0:64] in [0:8, 0:56, 0:64] pads [0, 0, 0, 0] step 4 buffers [57344, 0, 0]
// CHECK:       tile.tile out [48:56, 0:56, 192:256] in [48:56, 0:56, 192:256] pads [0, 0, 0, 0] step 4 buffers [57344, 0, 0]

// VGG's 224x224x64 3x3: even PP = 4 full-width rows (6 x 224 x 64 = 86 KB) overflow the fmap
// buffer, so bands of 4 rows are cut into 3 column blocks of 75 columns.
func.func @vgg(%x: tensor<1x64x224x224xf32>) -> tensor<1x64x224x224xf32> {
  %w = dnn.weight "w" : tensor<64x64x3x3xf32>
  %y = dnn.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x64x224x224xf32>, tensor<64x64x3x3xf32>) -> tensor<1x64x224x224xf32>
  func.return %y : tensor<1x64x224x224xf32>
}
// CHECK-LABEL: func.func @vgg
// CHECK:       %y = tile.layer "y_7" conv grid [56, 3, 1] cost {{[0-9]+}} (%x)
// CHECK:       tile.tile out [0:4, 0:75, 0:64] in [0:5, 0:76, 0:64] pads [1, 1, 0, 0] step 4 buffers [43520, 36864, 256]
// CHECK:       tile.tile out [220:224, 150:224, 0:64] in [219:224, 149:224, 0:64] pads [0, 0, 1, 1] step 4 buffers [42944, 36864, 256]

// Concat along channels is zero-copy: each producer saves into its slice of the 480-channel
// result (`into [offset, 480]`). The model input %x cannot be written in place (the host
// writes it), so it gets a copy layer.
func.func @inception(%x: tensor<1x192x28x28xf32>) -> tensor<1x416x28x28xf32> {
  %w1 = dnn.weight "w1" : tensor<64x192x1x1xf32>
  %a = dnn.conv2d %x, %w1 strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x192x28x28xf32>, tensor<64x192x1x1xf32>) -> tensor<1x64x28x28xf32>
  %w2 = dnn.weight "w2" : tensor<32x192x3x3xf32>
  %b = dnn.conv2d %x, %w2 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x192x28x28xf32>, tensor<32x192x3x3xf32>) -> tensor<1x32x28x28xf32>
  %p = dnn.pool2d max %x kernel [3, 3] strides [1, 1] pads [1, 1, 1, 1] : tensor<1x192x28x28xf32> -> tensor<1x192x28x28xf32>
  %c = dnn.concat %a, %b, %p, %x axis 1 : (tensor<1x64x28x28xf32>, tensor<1x32x28x28xf32>, tensor<1x192x28x28xf32>, tensor<1x192x28x28xf32>) -> tensor<1x480x28x28xf32>
  %w3 = dnn.weight "w3" : tensor<416x480x1x1xf32>
  %y = dnn.conv2d %c, %w3 strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x480x28x28xf32>, tensor<416x480x1x1xf32>) -> tensor<1x416x28x28xf32>
  func.return %y : tensor<1x416x28x28xf32>
}
// CHECK-LABEL: func.func @inception
// CHECK:       %a = tile.layer "a" conv grid [4, 1, 4] cost {{[0-9]+}} into [0, 480] (%x)
// CHECK:       %b = tile.layer "b" conv grid [7, 1, 4] cost {{[0-9]+}} into [64, 480] (%x)
// CHECK:       %p = tile.layer "p" pool grid [1, 1, 24] cost {{[0-9]+}} into [96, 480] (%x)
// CHECK:       %0 = tile.layer "c.copy3" copy grid [7, 1, 4] cost {{[0-9]+}} into [288, 480] (%x)
// CHECK:       tile.tile out [0:4, 0:28, 0:48] in [0:4, 0:28, 0:48] pads [0, 0, 0, 0] step 4 buffers [5376, 0, 0]
// CHECK:       %c = tile.concat %a, %b, %p, %0 : (tensor<1x64x28x28xf32>, tensor<1x32x28x28xf32>, tensor<1x192x28x28xf32>, tensor<1x192x28x28xf32>) -> tensor<1x480x28x28xf32>
// CHECK:       %y = tile.layer "y_8" conv grid [7, 1, 4] cost {{[0-9]+}} (%c)

// VGG's flatten + fc6: the flatten moves no data (tile.view); the NHWC bytes are in (h, w, c)
// order, which x_chw records so that the weights are permuted to match. A 8 x 25088 weight
// slice (200704 bytes) is what fits 288 KiB in multiples of OCP.
func.func @classifier(%x: tensor<1x512x7x7xf32>) -> tensor<1x4096xf32> {
  %f = dnn.flatten %x : tensor<1x512x7x7xf32> -> tensor<1x25088xf32>
  %w = dnn.weight "fc6" : tensor<4096x25088xf32>
  %y = dnn.dense %f, %w trans_b act #dnn.act<relu> : (tensor<1x25088xf32>, tensor<4096x25088xf32>) -> tensor<1x4096xf32>
  func.return %y : tensor<1x4096xf32>
}
// CHECK-LABEL: func.func @classifier
// CHECK:       %f = tile.view %x : tensor<1x512x7x7xf32> -> tensor<1x25088xf32>
// CHECK:       %y = tile.layer "y_9" dense grid [1, 1, 512] cost {{[0-9]+}} x_chw [512, 7, 7] (%f)
// CHECK:       tile.tile out [0:1, 0:1, 0:8] in [0:1, 0:1, 0:25088] pads [0, 0, 0, 0] step 1 buffers [25096, 200704, 32]

// With min-tiles=1 the balance term alone decides: the inception branches, small layers,
// take fewer, larger tiles.
// FEW: %a = tile.layer "a" conv grid [4, 1, 2]
// FEW: %b = tile.layer "b" conv grid [7, 1, 2]
// FEW: %0 = tile.layer "c.copy3" copy grid [7, 1, 2]

// ConvNeXt's channels-last LayerNorm: the permutes to rows and back move no byte of the NHWC
// images (their NHWC bytes already are the rows), so each chain becomes one tile.view and its
// ops go; a transpose that moves bytes (H <-> W) stays a dnn op for the host.
func.func @channels_last(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %w = dnn.weight "dw.w" : tensor<16x1x3x3xf32>
  %d = dnn.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] group 16 : (tensor<1x16x8x8xf32>, tensor<16x1x3x3xf32>) -> tensor<1x16x8x8xf32>
  %t = dnn.transpose %d perm [0, 2, 3, 1] : tensor<1x16x8x8xf32> -> tensor<1x8x8x16xf32>
  %r = dnn.reshape %t : tensor<1x8x8x16xf32> -> tensor<64x16xf32>
  %g = dnn.weight "ln.g" : tensor<16xf32>
  %b = dnn.weight "ln.b" : tensor<16xf32>
  %n = dnn.layer_norm %r, %g, %b epsilon 1.000000e-06 : (tensor<64x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<64x16xf32>
  %u = dnn.reshape %n : tensor<64x16xf32> -> tensor<1x8x8x16xf32>
  %v = dnn.transpose %u perm [0, 3, 1, 2] : tensor<1x8x8x16xf32> -> tensor<1x16x8x8xf32>
  %w2 = dnn.weight "pw.w" : tensor<16x16x1x1xf32>
  %y = dnn.conv2d %v, %w2 strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
  %s = dnn.transpose %y perm [0, 1, 3, 2] : tensor<1x16x8x8xf32> -> tensor<1x16x8x8xf32>
  %z = dnn.relu %s : tensor<1x16x8x8xf32>
  func.return %z : tensor<1x16x8x8xf32>
}
// CHECK-LABEL: func.func @channels_last
// CHECK:       %d = tile.layer "{{d[_0-9]*}}" dwconv
// CHECK:       %r = tile.view %d : tensor<1x16x8x8xf32> -> tensor<64x16xf32>
// CHECK-NEXT:  %n = tile.layer "{{n[_0-9]*}}" lnorm grid {{.*}} (%r)
// CHECK:       %v = tile.view %n : tensor<64x16xf32> -> tensor<1x16x8x8xf32>
// CHECK-NEXT:  %y = tile.layer "{{y[_0-9]*}}" conv grid {{.*}} (%v)
// CHECK:       %s = dnn.transpose %y perm [0, 1, 3, 2]
// CHECK-NOT:   dnn.reshape
