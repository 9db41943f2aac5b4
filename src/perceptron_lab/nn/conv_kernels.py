"""Compiled kernels for Conv2D, MaxPool2D and ReLU on channels-last images (see kernels.py).

Each kernel does in one pass what conv.py's NumPy path does in several: copying windows into
im2col patches straight from the unpadded input, max pooling that records where each maximum
was, and ReLU's forward and backward in place. Padding is never materialised: a window
position outside the image reads zero (convolution) or is skipped (max pooling, which matches
padding with -inf). Kernels that take [start, stop) do the (replica, image) pairs
t = r n + m in that range, so callers can split the work over threads.

Shapes: images x (R, n, H, W, C), or (1, n, H, W, C) for one input shared by R replicas; patches (R, n, H', W', >= kh*kw*C) with columns ordered
(i, j, c), i.e. column (i kw + j) C + c holds x[r, m, y' s_h + i - top, x' s_w + j - left, c].
"""

from __future__ import annotations

from .kernels import kernel


@kernel
def im2col(x, patches, kh, kw, sh, sw, top, left):
    """patches[r, m, y', x', (i kw + j) C + c] = x[r, m, y' sh + i - top, x' sw + j - left, c],
    0 outside the image; columns past kh*kw*C are left as they are (the bias column of ones)."""
    _, n, H, W, C = x.shape
    R, Ho, Wo = patches.shape[0], patches.shape[2], patches.shape[3]
    shared = x.shape[0] == 1  # one input broadcast over the replicas
    for t in range(R * n):
        r, m = t // n, t % n
        rx = 0 if shared else r
        for oy in range(Ho):
            for ox in range(Wo):
                row = patches[r, m, oy, ox]
                for i in range(kh):
                    y = oy * sh + i - top
                    for j in range(kw):
                        xx = ox * sw + j - left
                        base = (i * kw + j) * C
                        if C == 1:
                            row[base] = x[rx, m, y, xx, 0] if 0 <= y < H and 0 <= xx < W else 0.0
                        elif 0 <= y < H and 0 <= xx < W:
                            pixel = x[rx, m, y, xx]
                            for c in range(C):
                                row[base + c] = pixel[c]
                        else:
                            for c in range(C):
                                row[base + c] = 0.0


@kernel
def correlation_patches(delta, patches, kh, kw, before_h, before_w):
    """The im2col of the zero-padded delta for a stride-1 convolution's input gradient:
    patches[r, m, y, x, i, j, f] = delta[r, m, y + i - before_h, x + j - before_w, f] (0 outside),
    delta (R, n, H', W', F), patches (R, n, H, W, kh, kw, F)."""
    R, n, Ho, Wo, F = delta.shape
    H, W = patches.shape[2], patches.shape[3]
    for t in range(R * n):
        r, m = t // n, t % n
        for y in range(H):
            for x in range(W):
                for i in range(kh):
                    dy = y + i - before_h
                    for j in range(kw):
                        dx = x + j - before_w
                        if 0 <= dy < Ho and 0 <= dx < Wo:
                            for f in range(F):
                                patches[r, m, y, x, i, j, f] = delta[r, m, dy, dx, f]
                        else:
                            for f in range(F):
                                patches[r, m, y, x, i, j, f] = 0.0


@kernel
def relu_forward(a):
    """a <- max(a, 0) in place, a (R, n, k) (NaN stays NaN)."""
    for r in range(a.shape[0]):
        for m in range(a.shape[1]):
            row = a[r, m]
            for k in range(row.size):
                if row[k] < 0.0:
                    row[k] = 0.0


@kernel
def relu_backward(grad, a):
    """grad <- grad * (a > 0) in place (ReLU's derivative from its output); grad and a (R, n, k)."""
    for r in range(grad.shape[0]):
        for m in range(grad.shape[1]):
            g, out = grad[r, m], a[r, m]
            for k in range(g.size):
                if not out[k] > 0.0:
                    g[k] = 0.0


@kernel
def max_pool_forward(x, out, where, ph, pw, sh, sw, top, left, start, stop):
    """out[r, m, y', x', c] = max over the window's positions inside the image of x, and
    where[...] = i pw + j of its first position (row-major) holding it; a NaN wins.
    x (R, n, H, W, C), out and where (R, n, H', W', C); the pairs t = r n + m in [start, stop)."""
    _, n, H, W, C = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    shared = x.shape[0] == 1  # one input broadcast over the replicas
    for t in range(start, stop):
        r, m = t // n, t % n
        rx = 0 if shared else r
        for oy in range(Ho):
            for ox in range(Wo):
                best = out[r, m, oy, ox]
                at = where[r, m, oy, ox]
                first = True
                for i in range(ph):
                    y = oy * sh + i - top
                    if y < 0 or y >= H:
                        continue
                    for j in range(pw):
                        xx = ox * sw + j - left
                        if xx < 0 or xx >= W:
                            continue
                        values = x[rx, m, y, xx]
                        k = i * pw + j
                        if first:
                            for c in range(C):
                                best[c] = values[c]
                                at[c] = k
                            first = False
                        else:
                            for c in range(C):
                                v = values[c]
                                if v > best[c] or (v != v and best[c] == best[c]):
                                    best[c] = v
                                    at[c] = k


@kernel
def max_pool_backward(grad, where, image, ph, pw, sh, sw, top, left, accumulate, start, stop):
    """image[r, m, y, x, c] (+)= the sum of grad over the windows whose maximum sat at (y, x):
    grad and where (R, n, H', W', C), image (R, n, H, W, C), assigned (zeros elsewhere) or,
    with accumulate, added to, for the pairs t = r n + m in [start, stop). Windows that tile
    the image are written in one pass."""
    _, n, H, W, C = image.shape
    Ho, Wo = grad.shape[2], grad.shape[3]
    tiles = sh == ph and sw == pw and top == 0 and left == 0 and Ho * ph <= H and Wo * pw <= W
    tiles = tiles and not accumulate
    for t in range(start, stop):
        r, m = t // n, t % n
        if tiles:
            for y in range(Ho * ph, H):  # rows and columns no window covers
                image[r, m, y] = 0.0
            for y in range(Ho * ph):
                for xx in range(Wo * pw, W):
                    image[r, m, y, xx] = 0.0
            for oy in range(Ho):
                for ox in range(Wo):
                    g = grad[r, m, oy, ox]
                    at = where[r, m, oy, ox]
                    for i in range(ph):
                        for j in range(pw):
                            k = i * pw + j
                            target = image[r, m, oy * ph + i, ox * pw + j]
                            for c in range(C):
                                target[c] = g[c] if at[c] == k else 0.0
            continue
        if not accumulate:
            image[r, m] = 0.0
        for oy in range(Ho):
            for ox in range(Wo):
                for c in range(C):
                    at = where[r, m, oy, ox, c]
                    y = oy * sh + at // pw - top
                    xx = ox * sw + at % pw - left
                    image[r, m, y, xx, c] += grad[r, m, oy, ox, c]
