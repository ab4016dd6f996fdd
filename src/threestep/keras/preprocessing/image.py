"""keras.preprocessing.image: ImageDataGenerator, load_img, img_to_array, array_to_img,
save_img and the transform helpers (Pillow is needed only to read and write files)."""
from ...preprocessing.image import (apply_affine_transform, apply_brightness_shift,  # noqa: F401
                                    apply_channel_shift, array_to_img, flip_axis, img_to_array,
                                    load_img, save_img, transform_matrix_offset_center)
from ...preprocessing.image_generator import (DirectoryIterator, ImageDataGenerator,  # noqa: F401
                                              Iterator, NumpyArrayIterator)
