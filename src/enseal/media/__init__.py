"""enseal.media"""
