"""The upload area, where every file comes from: an external asset upstream of landed_reviews and landed_climate."""
