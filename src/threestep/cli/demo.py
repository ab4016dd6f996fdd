"""``threestep demo``: the lecture's fully connected network on the embedded digits."""
import time

from .. import __version__


def demo(args):
    """Train the lecture's fully connected network (ReLU + cross-entropy) on the digits."""
    from .. import backend
    from ..datasets import digits
    from ..layers import Dense
    from ..models import Sequential
    from ..optimizers import SGD
    from ..utils import to_categorical

    backend.set_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    # 8x8 images with values 0..16 -> 64 features in [0, 1]; labels -> one-hot vectors
    x_train = x_train.reshape(len(x_train), 64).astype("float32") / 16
    x_test = x_test.reshape(len(x_test), 64).astype("float32") / 16
    y_train, y_test = to_categorical(y_train, 10), to_categorical(y_test, 10)
    print(f"threestep {__version__} demo: handwritten digits (8x8), {len(x_train)} training and "
          f"{len(x_test)} test images, shipped with threestep (no download)")

    # Step 1: define a set of functions.
    model = Sequential()
    model.add(Dense(500, activation="relu", input_dim=64))
    model.add(Dense(500, activation="relu"))
    model.add(Dense(10, activation="softmax"))
    model.summary()
    # Step 2: goodness of function.   Step 3: pick the best function.
    model.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.05, momentum=0.9),
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=args.verbose)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Training took {seconds:.1f} s.")
    print(f"Test loss: {loss:.4f}")
    print(f"Test accuracy: {accuracy:.4f}")
    return 0 if accuracy >= 0.95 else 1


def add_parser(sub):
    """Register ``demo`` on the ``threestep`` subparsers."""
    parser = sub.add_parser("demo", help="train an MLP on the embedded handwritten digits and print its test accuracy")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (default: 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                        help="0 silent, 1 progress bar, 2 one line per epoch (default: 1)")
    parser.set_defaults(func=demo)
