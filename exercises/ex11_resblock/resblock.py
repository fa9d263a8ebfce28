"""Exercise 11: the residual block of ResNet (torchvision's BasicBlock), forward and backward.

    out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))

conv1 is 3x3 with stride `stride` and padding 1, conv2 3x3 with stride 1 and
padding 1, both without bias. shortcut(x) is x itself when stride == 1 and
F == C, else bn_proj(conv_proj(x)) with a 1x1 convolution of stride `stride`
and no padding. Layout: batch first, as in PyTorch.

Reuse your own layers: put this file beside your conv.py (ex06) and
batchnorm.py (ex08) and import them,

    from conv import conv2d_forward, conv2d_backward
    from batchnorm import batchnorm_forward, batchnorm_backward

(a convolution without bias is one with b = np.zeros(F)). The grader copies
your conv.py and batchnorm.py beside this file; a self-contained file works
too. README.md has the math, the conventions and the backward pass. Check your
work with

    grader check ex11
"""

import numpy as np


def resblock_forward(x, params, running, stride=1, training=True, momentum=0.1, eps=1e-5):
    """The forward pass of the residual block.

    Args:
        x: input, shape (N, C, H, W).
        params: a dict of arrays: w1 (F, C, 3, 3), gamma1 and beta1 (F,),
            w2 (F, F, 3, 3), gamma2 and beta2 (F,), and, when the block has a
            projection shortcut (stride != 1 or F != C), w_proj (F, C, 1, 1),
            gamma_proj and beta_proj (F,).
        running: a dict of the batch norms' running statistics, each (F,):
            mean1, var1, mean2, var2 (and mean_proj, var_proj).
        stride: conv1's stride (and the projection's), an int.
        training: True: every batch norm normalises with the batch statistics
            and updates its running ones; False (eval mode): they use the
            running statistics and return them unchanged.
        momentum, eps: passed on to every batch norm (as in ex08).

    Returns:
        (out, new_running, cache):
        out: shape (N, F, H_out, W_out), H_out = (H - 1) // stride + 1.
        new_running: a NEW dict with the same keys as running.
        cache: anything resblock_backward needs.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("resblock_forward")


def resblock_backward(dout, cache):
    """The backward pass of the residual block (training mode).

    Args:
        dout: gradient of the loss with respect to out, shape (N, F, H_out, W_out).
        cache: what your resblock_forward returned.

    Returns:
        grads: a dict with "x" (N, C, H, W) and one gradient for every key of
            params, each of that parameter's shape.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("resblock_backward")
