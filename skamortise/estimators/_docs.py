"""numpydoc fragments shared by the estimator families' docstrings."""

# Inserted with str.format into each class docstring, so that a parameter the base
# owns is described once.
TRAINING_PARAMETERS = """\
    summary_network : {"auto", "rnn", "tcn", "transformer"} or callable, \
default="auto"
        ``"auto"``: an MLP for one vector per data set, a DeepSet (which also sees
        the replicate count, as its log and divided by the largest training count)
        for replicated data. ``"rnn"``, ``"tcn"`` and ``"transformer"``: a network
        for time series (``skamortise.nn.SERIES_NETWORKS``), which declares that
        ``X`` holds series ``(n, n_times[, n_channels])`` or a list of them, never
        replicates. Otherwise a ``torch.nn.Module`` class or factory, called
        with ``summary_network_kwargs``, mapping a batch ``(n, *event)``
        (replicated: ``(n, m, *event)`` and, for ragged data, a mask ``(n, m)`` as
        second argument) to ``(n, n_summaries)``; ``ordered = True`` on it declares
        series.
    summary_network_kwargs : dict, default=None
        Keyword arguments for a named series network or a user
        ``summary_network``.
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Widths of the default networks' hidden layers (the DeepSet uses them inside
        and outside the pooling).
    activation : str, default="relu"
        Activation of the default networks: "relu", "gelu", "silu", "elu" or "tanh"
        (the posterior estimator defaults to "silu").
    learning_rate : float, default=1e-3
        Adam's initial learning rate; it halves when the validation loss stalls.
    batch_size : int, default=128
        Minibatch size (capped at the number of training data sets).
    max_epochs : int, default=500
        Upper bound on training epochs.
    validation_fraction : float, default=0.1
        Fraction of the training pairs held out (a random split seeded by
        ``random_state``) for early stopping; the best weights on it are kept.
        0 disables the split and monitors the training loss instead.
    n_iter_no_change : int, default=10
        Epochs without improvement before training stops.
    weight_decay : float, default=0.0
        L2 penalty of the optimiser.
    warm_start : bool, default=False
        Continue training the fitted network on the next ``fit`` call.
    verbose : int, default=0
        Show a progress bar with the losses when positive.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, the validation split and minibatch order. With
        an int, fitting on CPU is bit-for-bit reproducible.
    device : str, default="auto"
        "cpu", "cuda" (or "cuda:1", ...) or "auto" (CUDA when available).
    n_threads : int or None, default=1
        torch intra-op threads used during this estimator's work (restored after);
        None keeps torch's setting. One thread is fastest for networks of this size
        and robust on shared machines; see ``benchmarks/RESULTS.md``.
    checkpoint_dir : str, path or None, default=None
        Directory where the training state is saved every ``checkpoint_every``
        epochs. A ``fit`` with a directory holding an unfinished run's checkpoint
        resumes it exactly (same final weights as an uninterrupted run on the same
        data); a finished run's checkpoint is overwritten by a fresh start.
    checkpoint_every : int, default=10
        Epochs between checkpoints.
    warn_out_of_range : bool, default=False
        Warn (:class:`~skamortise.diagnostics.OutOfRangeWarning`) when data given
        for inference lie outside what training saw: a replicate count outside the
        training range, or a learned summary whose squared Mahalanobis distance to
        the training summaries' mean (with their covariance) exceeds the 99.9%
        quantile of the training data sets' distances (``training_range_``; about
        1 in 1000 new data sets like the training data crosses it). Costs one more
        pass of the summary network per call.
    missing : {"error", "mask"}, default="error"
        NaN entries of ``X``: an error, or missing values. With ``"mask"`` they
        are allowed in training and inference (Wang et al. 2024): standardisation
        ignores them, and the summary network sees the data with NaN replaced by 0
        next to an indicator of the observed entries (twice the features, or
        channels; see :mod:`skamortise.nn.observed` for the input a
        ``summary_network`` of your own receives). A replicate with nothing
        observed is left out, as if absent. The network learns the missingness
        patterns it is trained on: simulate them (see
        :class:`skamortise.simulation.MissingCompletelyAtRandom`).
"""

FITTED_ATTRIBUTES = """\
    network_ : torch.nn.Module
        The trained network (data standardisation, summary network and head), in
        float64.
    x_loc_, x_scale_ : ndarray
        Location and scale of the training data (per feature, or one value for
        grids), read from the network's first module, which standardises ``X``.
    n_features_in_ : int
        Features per data set (per replicate for replicated data, per time step,
        i.e. channels, for series).
    feature_names_in_ : ndarray of str
        Feature names, when ``X`` was a DataFrame with string columns.
    parameter_names_ : list of str
        Names of the parameters: the columns of a ``y`` DataFrame, else
        ``theta_0, theta_1, ...``.
    n_parameters_ : int
        Number of parameters.
    parameter_transform_ : BoundsTransform or None
        The bijection from the real line onto the ``bounds`` (None when unbounded).
    replicated_ : bool
        Whether the network was trained on data with a variable second axis:
        replicates, or the time steps of series (with a series network).
    event_shape_ : tuple of int
        Shape of one replicate (or one data set when not replicated).
    history_ : dict of list
        ``train_loss``, ``valid_loss``, ``learning_rate`` and ``time`` per epoch.
        Point and quantile estimators trained on data sets of differing replicate
        counts also record ``valid_balanced``, the geometric mean of the validation
        losses of five replicate-count groups: the loss of large counts is a small
        fraction of the pooled loss, so early stopping follows this one instead.
    best_epoch_ : int
        Epoch whose weights were kept (lowest monitored validation loss).
    n_epochs_ : int
        Epochs run.
    interrupted_ : bool
        Whether training was stopped by ``KeyboardInterrupt``.
    training_range_ : dict
        What training saw, for ``warn_out_of_range``: ``n_replicates`` (the
        smallest and largest training replicate count, None for unreplicated
        data), and the mean ``summary_mean``, ridged inverse covariance
        ``summary_precision`` and 99.9% distance quantile ``distance_threshold`` of
        the learned summaries of up to 20,000 training and validation data sets.
"""
